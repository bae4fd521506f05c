//! Configuration of the database capability: `[databases.NAME]` in `plugmill.toml`, the
//! `PLUGMILL_DATABASE_<NAME>` environment variables, and the per-plugin `databases` grant.
//!
//! ```toml
//! [databases.hasura]
//! url = "postgres://app@127.0.0.1:5432/hasura"
//! max_connections = 16          # default 10 (PostgreSQL), 4 (SQLite)
//! acquire_timeout = "5s"        # waiting for a free connection
//! statement_timeout = "30s"     # one statement; never past the call's deadline
//! max_rows = 100000             # rows one query may return
//!
//! [databases.audit]
//! url = "sqlite://data/audit.db" # created if missing
//!
//! [databases.keycloak]
//! url_env = "KEYCLOAK_DATABASE_URL" # the URL is read from this variable
//!
//! [plugins.audit-log]
//! databases = ["audit"]
//! ```
//!
//! `PLUGMILL_DATABASE_HASURA=postgres://...` sets (or overrides) the URL of database `hasura`,
//! so credentials need not be written in the file.
//!
//! TLS: `?sslmode=verify-full&sslrootcert=/etc/ca.pem` (libpq's modes; unset, `prefer`).
//!
//! A deployment of the seed system configures its two databases with
//! `HASURA_DB__HOST`, `__PORT`, `__USER`, `__PASSWORD`, `__DBNAME`, `__SSL_MODE` and
//! `HASURA_DB_CA_PATH` (and the same with `KEYCLOAK_`): those set `hasura` and `keycloak`
//! when neither `PLUGMILL_DATABASE_NAME` nor a `url`/`url_env` of `[databases.NAME]` does
//! (module `seed_env`).

use std::str::FromStr;
use std::time::Duration;

use std::path::Path;

use serde::Deserialize;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

use crate::config::precedence::Setting;

/// `[databases.NAME]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://...` / `postgresql://...`, or `sqlite://PATH` / `sqlite:PATH`.
    pub url: Option<String>,
    /// The name of an environment variable holding the URL.
    pub url_env: Option<String>,
    /// Connections in the pool.
    pub max_connections: Option<u32>,
    /// How long `begin` waits for a free connection.
    #[serde(default, with = "crate::config::values::duration")]
    pub acquire_timeout: Option<Duration>,
    /// How long one statement may run (bounded by the call's deadline).
    #[serde(default, with = "crate::config::values::duration")]
    pub statement_timeout: Option<Duration>,
    /// Rows one query may return.
    pub max_rows: Option<usize>,
}

/// Where a database lives. Its `Debug` form names the server or file, never a password.
#[derive(Clone)]
pub enum Backend {
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(PgConnectOptions),
    /// A SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnectOptions),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(feature = "postgres")]
            Backend::Postgres(options) => f
                .debug_struct("Postgres")
                .field("host", &options.get_host())
                .field("port", &options.get_port())
                .field("user", &options.get_username())
                .field("database", &options.get_database())
                .field("ssl_mode", &options.get_ssl_mode())
                .finish_non_exhaustive(),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(options) => f
                .debug_struct("Sqlite")
                .field("file", &options.get_filename())
                .finish_non_exhaustive(),
        }
    }
}

/// A database ready to be opened: where it is and its limits.
#[derive(Clone, Debug)]
pub struct DatabaseSpec {
    /// Where it lives.
    pub backend: Backend,
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long `begin` waits for a free connection.
    pub acquire_timeout: Duration,
    /// How long one statement may run.
    pub statement_timeout: Duration,
    /// Rows one query may return.
    pub max_rows: usize,
    /// Which settings chose the connection's TLS, named in the error when a connection fails
    /// over TLS (e.g. `HASURA_DB__SSL_MODE=verify-full, HASURA_DB_CA_PATH=/etc/ca.pem`).
    pub tls_settings: Option<String>,
}

impl DatabaseSpec {
    /// A database at `url` with the default limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use plugmill::capabilities::database::DatabaseSpec;
    ///
    /// assert!(DatabaseSpec::from_url("sqlite://plugmill.db").is_ok());
    /// assert!(DatabaseSpec::from_url("postgres://app@127.0.0.1/app").is_ok());
    /// assert!(DatabaseSpec::from_url("mysql://x").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<Self, InvalidDatabase> {
        Self::from_config(url, &DatabaseConfig::default()).map_err(InvalidDatabase)
    }

    fn from_config(url: &str, config: &DatabaseConfig) -> Result<Self, String> {
        let url = url.trim();
        let (backend, default_connections) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                postgres_backend(url)?
            } else if url.starts_with("sqlite:") {
                sqlite_backend(url, config)?
            } else {
                return Err(format!(
                "`{}` is not a database URL plugmill knows: use postgres://... or sqlite://PATH",
                redact(url)
            ));
            };
        Self::with_limits(backend, default_connections, config)
    }

    pub(super) fn with_limits(
        backend: Backend,
        default_connections: u32,
        config: &DatabaseConfig,
    ) -> Result<Self, String> {
        let max_connections = config.max_connections.unwrap_or(default_connections);
        if max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        crate::config::values::check_count(
            "max_connections",
            max_connections.into(),
            MAX_CONNECTIONS,
        )?;
        if let Some(rows) = config.max_rows {
            crate::config::values::check_count("max_rows", rows as u64, MAX_ROWS)?;
        }
        Ok(Self {
            backend,
            max_connections,
            acquire_timeout: config.acquire_timeout.unwrap_or(Duration::from_secs(5)),
            statement_timeout: config.statement_timeout.unwrap_or(Duration::from_secs(30)),
            max_rows: config.max_rows.unwrap_or(100_000),
            tls_settings: None,
        })
    }
}

/// A PostgreSQL database and its default pool size.
/// The query parameters the PostgreSQL driver understands. Any other is refused here: the
/// driver would ignore it and log its value, which may be a credential.
#[cfg(feature = "postgres")]
const POSTGRES_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

#[cfg(feature = "postgres")]
fn postgres_backend(url: &str) -> Result<(Backend, u32), String> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        if !POSTGRES_PARAMETERS.contains(&key) {
            return Err(format!(
                "`{}` is not a connection parameter plugmill knows (known: {})",
                crate::config::values::shorten(key),
                POSTGRES_PARAMETERS.join(", ")
            ));
        }
    }
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("`{}` is not a valid PostgreSQL URL: {e}", redact(url)))?;
    // As libpq: `require` with a root certificate verifies the chain (sqlx alone does not).
    let root_cert = query.split('&').any(|pair| {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        ["sslrootcert", "ssl-root-cert", "ssl-ca"].contains(&key)
    }) || std::env::var_os("PGSSLROOTCERT").is_some();
    if root_cert && matches!(options.get_ssl_mode(), sqlx::postgres::PgSslMode::Require) {
        options = options.ssl_mode(sqlx::postgres::PgSslMode::VerifyCa);
    }
    Ok((Backend::Postgres(options.application_name("plugmill")), 10))
}

#[cfg(not(feature = "postgres"))]
fn postgres_backend(url: &str) -> Result<(Backend, u32), String> {
    Err(format!(
        "`{}`: this build of plugmill has no PostgreSQL support (the `postgres` feature)",
        redact(url)
    ))
}

/// A SQLite database and its default pool size.
#[cfg(feature = "sqlite")]
fn sqlite_backend(url: &str, config: &DatabaseConfig) -> Result<(Backend, u32), String> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    if path.split('?').next().unwrap_or_default().is_empty() {
        return Err(format!(
            "`{}` names no file: write sqlite://PATH, e.g. sqlite://data/audit.db (relative to plugmill.toml)",
            redact(url)
        ));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| redact(&format!("`{url}` is not a valid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(config.acquire_timeout.unwrap_or(Duration::from_secs(5)));
    Ok((Backend::Sqlite(options), 4))
}

#[cfg(not(feature = "sqlite"))]
fn sqlite_backend(url: &str, _: &DatabaseConfig) -> Result<(Backend, u32), String> {
    Err(format!(
        "`{url}`: this build of plugmill has no SQLite support (the `sqlite` feature)"
    ))
}

/// The largest pool accepted.
const MAX_CONNECTIONS: u64 = 1_000;

/// The most rows one query may be allowed to return.
const MAX_ROWS: u64 = 10_000_000;

/// A database URL or setting that cannot be used; the message says why, without passwords.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDatabase(String);

/// The environment variable that sets the URL of database `name`.
pub fn url_variable(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' => c,
            _ => '_',
        })
        .collect();
    format!("PLUGMILL_DATABASE_{name}")
}

/// Resolves `[databases.NAME]` against the environment: `PLUGMILL_DATABASE_<NAME>` first,
/// then `url_env`, then `url`.
pub(crate) fn resolve(name: &str, config: &DatabaseConfig) -> Result<DatabaseSpec, String> {
    // A missing `url_env` variable is an error only when the file's URL is the one chosen.
    let from_file = match (&config.url_env, &config.url) {
        (Some(variable), _) => Some(
            std::env::var(variable)
                .map_err(|_| format!("url_env: the environment variable `{variable}` is not set")),
        ),
        (None, Some(url)) => Some(Ok(url.clone())),
        (None, None) => None,
    };
    let url = Setting::new()
        .environment(
            "PLUGMILL_DATABASE_<NAME>",
            std::env::var(url_variable(name)).ok().map(Ok),
        )
        .file(from_file)
        .value()
        .ok_or_else(|| {
            format!(
                "no URL: set `url`, `url_env`, or the variable {}",
                url_variable(name)
            )
        })??;
    DatabaseSpec::from_config(&url, config)
}

/// Databases named only in the environment (`PLUGMILL_DATABASE_<NAME>` with no
/// `[databases.name]`): their lower-case names.
pub(crate) fn names_from_environment() -> Vec<String> {
    std::env::vars()
        .filter_map(|(key, _)| {
            let name = key.strip_prefix("PLUGMILL_DATABASE_")?;
            (!name.is_empty()).then(|| name.to_ascii_lowercase())
        })
        .collect()
}

/// A SQLite URL with a relative path made relative to `base` (the configuration file's
/// directory); any other URL unchanged.
pub(crate) fn relative_to(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let joined = base.join(path);
    match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// A URL (or any text) with its passwords replaced, for error messages.
pub fn redact(url: &str) -> String {
    crate::redact_secrets(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        let error = DatabaseSpec::from_url("mysql://app:s3cret@db/x").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn relative_sqlite_paths_follow_the_configuration_file() {
        let base = std::path::Path::new("/etc/plugmill");
        assert_eq!(
            relative_to("sqlite://audit.db", base),
            "sqlite:///etc/plugmill/audit.db"
        );
        assert_eq!(
            relative_to("sqlite:/var/a.db?mode=rwc", base),
            "sqlite:/var/a.db?mode=rwc"
        );
        assert_eq!(relative_to("sqlite::memory:", base), "sqlite::memory:");
        assert_eq!(relative_to("postgres://h/db", base), "postgres://h/db");
    }

    #[test]
    fn names_map_to_variables() {
        assert_eq!(url_variable("hasura"), "PLUGMILL_DATABASE_HASURA");
        assert_eq!(url_variable("audit-log"), "PLUGMILL_DATABASE_AUDIT_LOG");
    }

    #[test]
    fn a_database_needs_a_url_and_a_pool() {
        let missing = resolve("nowhere", &DatabaseConfig::default()).unwrap_err();
        assert!(missing.contains("PLUGMILL_DATABASE_NOWHERE"), "{missing}");
        let empty_pool = DatabaseConfig {
            url: Some("sqlite://x.db".into()),
            max_connections: Some(0),
            ..DatabaseConfig::default()
        };
        assert!(resolve("x", &empty_pool)
            .unwrap_err()
            .contains("max_connections"));
    }
}
