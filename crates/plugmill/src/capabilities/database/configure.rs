//! Reading the capability's configuration into [`Databases`]: `[databases.NAME]` sections,
//! databases named only in the environment, the seed's variables, and every plugin's
//! `databases` grant.

use std::collections::BTreeMap;

use super::config::{
    names_from_environment, relative_to, resolve, url_variable, DatabaseConfig, DatabaseSpec,
};
use super::databases::Databases;
use super::seed_env::{process_env, seed_database, Env, SEED_DATABASES};
use crate::config::{ConfigError, HostConfig};

/// Where errors about the seed's variables point.
const ENVIRONMENT: &str = "<environment>";

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
        let spec = match seed_fallback(name, &section, &process_env)? {
            Some(spec) => spec,
            None => resolve(name, &section)
                .map_err(|e| config.error(format!("[databases.{name}] {e}")))?,
        };
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
            let spec = seed_database(name, &DatabaseConfig::default(), &process_env)
                .map_err(|e| ConfigError::new(ENVIRONMENT, e))?;
            if let Some(spec) = spec {
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

/// `[databases.hasura]` (or `keycloak`) giving limits but no location: the seed's variables
/// place it, unless `PLUGMILL_DATABASE_<NAME>` does.
fn seed_fallback(
    name: &str,
    section: &DatabaseConfig,
    env: Env<'_>,
) -> Result<Option<DatabaseSpec>, ConfigError> {
    if !SEED_DATABASES.contains(&name)
        || section.url.is_some()
        || section.url_env.is_some()
        || env(&url_variable(name)).is_some()
    {
        return Ok(None);
    }
    seed_database(name, section, env).map_err(|e| ConfigError::new(ENVIRONMENT, e))
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HASURA_DB__HOST" => Some("db.internal".into()),
            "HASURA_DB__SSL_MODE" => Some("Require".into()),
            _ => None,
        }
    }

    #[test]
    fn a_section_with_limits_only_takes_its_location_from_the_seed_s_variables() {
        let limits = DatabaseConfig {
            max_connections: Some(30),
            ..DatabaseConfig::default()
        };
        let spec = seed_fallback("hasura", &limits, &env).unwrap().unwrap();
        assert_eq!(spec.max_connections, 30);
        assert!(format!("{spec:?}").contains("db.internal"), "{spec:?}");
        assert_eq!(
            spec.tls_settings.as_deref(),
            Some("HASURA_DB__SSL_MODE=Require: require")
        );

        let located = DatabaseConfig {
            url: Some("postgres://elsewhere/x".into()),
            ..limits.clone()
        };
        assert!(seed_fallback("hasura", &located, &env).unwrap().is_none());
        assert!(seed_fallback("audit", &limits, &env).unwrap().is_none());
        let own = |name: &str| {
            (name == "PLUGMILL_DATABASE_HASURA")
                .then(|| "postgres://own/x".to_string())
                .or_else(|| env(name))
        };
        assert!(seed_fallback("hasura", &limits, &own).unwrap().is_none());
    }
}
