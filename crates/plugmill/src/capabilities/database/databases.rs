//! [`Databases`]: the named databases of a host and which plugin may open which; each
//! [`Database`] with its pool, opened on first use.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use super::config::DatabaseSpec;
use super::pool::Pool;
use super::wit::{error, DatabaseError, ErrorKind};
use crate::config::ConfigError;
use crate::grants::PluginGrants;

/// The database capability: the named databases of a host and which plugin may open which.
/// Pools connect on first use.
#[derive(Debug, Default)]
pub struct Databases {
    databases: BTreeMap<String, Arc<Database>>,
    grants: PluginGrants<BTreeSet<String>>,
}

/// One named database and its pool.
pub struct Database {
    pub(super) name: String,
    pub(super) spec: DatabaseSpec,
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

    /// Refuses a grant of a database that is not configured.
    pub(super) fn check_grants(&self) -> Result<(), ConfigError> {
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

    /// Whether `plugin` is granted any database.
    pub(super) fn grants_any(&self, plugin: &str) -> bool {
        self.grants.entries_for(plugin).any(|set| !set.is_empty())
    }

    /// Closes every pool that was opened.
    pub(super) async fn close_pools(&self) {
        for database in self.databases.values() {
            match database.pool.get() {
                #[cfg(feature = "postgres")]
                Some(Pool::Postgres(pool)) => pool.close().await,
                #[cfg(feature = "sqlite")]
                Some(Pool::Sqlite(pool)) => pool.close().await,
                None => {}
            }
        }
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
