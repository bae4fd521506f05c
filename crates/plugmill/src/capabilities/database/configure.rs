//! Reading the capability's configuration into [`Databases`]: `[databases.NAME]` sections,
//! databases named only in the environment, the seed's variables, and every plugin's
//! `databases` grant.

use std::collections::BTreeMap;

#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;

#[cfg(feature = "postgres")]
use super::config::Backend;
use super::config::{
    names_from_environment, relative_to, resolve, url_variable, DatabaseConfig, DatabaseSpec,
};
use super::databases::Databases;
use crate::config::{ConfigError, HostConfig};

/// Reads the capability's configuration into `databases`: `[databases.NAME]` sections,
/// databases named only in the environment, the seed's variables, and every plugin's
/// `databases` grant.
pub(super) fn configure(databases: &mut Databases, config: &HostConfig) -> Result<(), ConfigError> {
    let sections: BTreeMap<String, DatabaseConfig> =
        config.section(&["databases"])?.unwrap_or_default();
    for (name, section) in &sections {
        let mut section = section.clone();
        if let (Some(url), Some(base)) = (&section.url, config.base_dir()) {
            section.url = Some(relative_to(url, base));
        }
        let spec =
            resolve(name, &section).map_err(|e| config.error(format!("[databases.{name}] {e}")))?;
        databases.insert(name, spec);
    }
    for name in names_from_environment() {
        if !sections.contains_key(&name) {
            let spec = resolve(&name, &DatabaseConfig::default())
                .map_err(|e| config.error(format!("{}: {e}", url_variable(&name))))?;
            databases.insert(&name, spec);
        }
    }
    for name in SEED_DATABASES {
        if !databases.contains(name) {
            if let Some(spec) = seed_database(name).map_err(|e| config.error(e))? {
                databases.insert(name, spec);
            }
        }
    }
    let grants: BTreeMap<String, Vec<String>> = config.plugin_entries("databases")?;
    for (plugin, names) in grants {
        for name in names {
            databases.grant(&plugin, &name);
        }
    }
    databases
        .check_grants()
        .map_err(|e| config.error(e.message))
}

/// The databases the seed system configured from its environment.
const SEED_DATABASES: [&str; 2] = ["hasura", "keycloak"];

#[cfg(not(feature = "postgres"))]
fn seed_database(_: &str) -> Result<Option<DatabaseSpec>, String> {
    Ok(None)
}

/// Database `name` from the seed's `<NAME>_DB__HOST`, `__PORT`, `__USER`, `__PASSWORD` and
/// `__DBNAME`, when `__HOST` is set.
#[cfg(feature = "postgres")]
fn seed_database(name: &str) -> Result<Option<DatabaseSpec>, String> {
    let prefix = format!("{}_DB__", name.to_ascii_uppercase());
    let var = |key: &str| {
        std::env::var(format!("{prefix}{key}"))
            .ok()
            .filter(|v| !v.is_empty())
    };
    let Some(host) = var("HOST") else {
        return Ok(None);
    };
    let mut options = PgConnectOptions::new()
        .host(&host)
        .application_name("plugmill");
    if let Some(port) = var("PORT") {
        let port = port
            .parse()
            .map_err(|_| format!("{prefix}PORT: `{port}` is not a port number"))?;
        options = options.port(port);
    }
    if let Some(user) = var("USER") {
        options = options.username(&user);
    }
    if let Some(password) = var("PASSWORD") {
        options = options.password(&password);
    }
    if let Some(database) = var("DBNAME") {
        options = options.database(&database);
    }
    DatabaseSpec::with_limits(Backend::Postgres(options), 10, &DatabaseConfig::default())
        .map(Some)
        .map_err(|e| format!("{prefix}*: {e}"))
}
