//! The seed system's database variables, read into the [`DatabaseSpec`] of database `hasura`
//! or `keycloak`: `HASURA_DB__HOST`, `__PORT`, `__USER`, `__PASSWORD`, `__DBNAME`,
//! `__SSL_MODE` and `HASURA_DB_CA_PATH` (likewise `KEYCLOAK_DB__*` and `KEYCLOAK_DB_CA_PATH`).
//!
//! - `__SSL_MODE` takes PostgreSQL's modes (`disable`, `allow`, `prefer`, `require`,
//!   `verify-ca`, `verify-full`) and the seed's spellings of them (`Disable`, `Prefer`,
//!   `Require`), in any case; unset, `prefer` (encrypt when the server offers it).
//! - `_CA_PATH` names a PEM file of the certificate authorities the server's certificate
//!   must chain to. It is read here, so a wrong path or a file without a certificate stops
//!   the start naming the variable. `require` with a CA file checks the chain and that the
//!   certificate names `__HOST` (`verify-full`), as the seed's OpenSSL connector did; the
//!   root store also holds the public web roots, so `verify-ca`, which skips the name, is
//!   the weaker choice.
//! - The spec remembers which variables set its TLS, so a connection refused over TLS says
//!   which to look at (`DatabaseSpec::tls_settings`).

#[cfg(feature = "postgres")]
use rustls::pki_types::{pem::PemObject, CertificateDer};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgSslMode};

#[cfg(feature = "postgres")]
use super::config::Backend;
use super::config::{DatabaseConfig, DatabaseSpec};

/// The databases the seed system configured from its environment.
pub(super) const SEED_DATABASES: [&str; 2] = ["hasura", "keycloak"];

/// Reads an environment variable (the process's, or a test's map).
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment; an empty value counts as unset.
pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Database `name` from the seed's variables when `<NAME>_DB__HOST` is set, with the pool
/// limits of `limits`. The error names the variable at fault.
#[cfg(feature = "postgres")]
pub(super) fn seed_database(
    name: &str,
    limits: &DatabaseConfig,
    env: Env<'_>,
) -> Result<Option<DatabaseSpec>, String> {
    let prefix = format!("{}_DB__", name.to_ascii_uppercase());
    let var = |key: &str| env(&format!("{prefix}{key}")).filter(|v| !v.is_empty());
    let Some(host) = var("HOST") else {
        return Ok(None);
    };
    let mut options = PgConnectOptions::new()
        .host(&host)
        .application_name("plugmill");
    if let Some(port) = var("PORT") {
        let port = port
            .trim()
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
    let (options, tls_settings) = with_tls(name, options, env)?;
    let mut spec = DatabaseSpec::with_limits(Backend::Postgres(options), 10, limits)
        .map_err(|e| format!("{prefix}*: {e}"))?;
    spec.tls_settings = tls_settings;
    Ok(Some(spec))
}

#[cfg(not(feature = "postgres"))]
pub(super) fn seed_database(
    _: &str,
    _: &DatabaseConfig,
    _: Env<'_>,
) -> Result<Option<DatabaseSpec>, String> {
    Ok(None)
}

/// `options` with the TLS `<NAME>_DB__SSL_MODE` and `<NAME>_DB_CA_PATH` ask for, and a
/// description of those settings when either is set.
#[cfg(feature = "postgres")]
fn with_tls(
    name: &str,
    mut options: PgConnectOptions,
    env: Env<'_>,
) -> Result<(PgConnectOptions, Option<String>), String> {
    let upper = name.to_ascii_uppercase();
    let mode_variable = format!("{upper}_DB__SSL_MODE");
    let ca_variable = format!("{upper}_DB_CA_PATH");
    let mode_text = env(&mode_variable).map(|m| m.trim().to_string());
    let ca_path = env(&ca_variable).map(|p| p.trim().to_string());
    let mut mode = match &mode_text {
        Some(text) => parse_mode(text).ok_or_else(|| {
            format!(
                "{mode_variable}: `{}` is not an SSL mode (disable, allow, prefer, require, verify-ca, verify-full)",
                crate::config::values::shorten(text)
            )
        })?,
        // PGSSLMODE, else prefer, as libpq.
        None => options.get_ssl_mode(),
    };
    if let Some(path) = &ca_path {
        check_ca_file(&ca_variable, path)?;
        options = options.ssl_root_cert(path);
        if matches!(mode, PgSslMode::Require) {
            mode = PgSslMode::VerifyFull;
        }
        if !verifies(mode) {
            tracing::warn!(
                database = name,
                "{ca_variable} is set but {mode_variable} is `{}`: the server's certificate is not checked (use verify-full)",
                mode_name(mode)
            );
        }
    }
    options = options.ssl_mode(mode);
    let mut described = Vec::new();
    if let Some(text) = &mode_text {
        described.push(format!(
            "{mode_variable}={}",
            crate::config::values::shorten(text)
        ));
    }
    if let Some(path) = &ca_path {
        described.push(format!("{ca_variable}={path}"));
    }
    let described =
        (!described.is_empty()).then(|| format!("{}: {}", described.join(", "), mode_name(mode)));
    Ok((options, described))
}

/// An SSL mode in PostgreSQL's spelling or the seed's (`Require`), any case.
#[cfg(feature = "postgres")]
fn parse_mode(text: &str) -> Option<PgSslMode> {
    let normalized = text.to_ascii_lowercase().replace('_', "-");
    match normalized.as_str() {
        "disable" => Some(PgSslMode::Disable),
        "allow" => Some(PgSslMode::Allow),
        "prefer" => Some(PgSslMode::Prefer),
        "require" => Some(PgSslMode::Require),
        "verify-ca" | "verifyca" => Some(PgSslMode::VerifyCa),
        "verify-full" | "verifyfull" => Some(PgSslMode::VerifyFull),
        _ => None,
    }
}

/// PostgreSQL's name of `mode`.
#[cfg(feature = "postgres")]
pub(super) fn mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// Whether `mode` checks the server's certificate.
#[cfg(feature = "postgres")]
fn verifies(mode: PgSslMode) -> bool {
    matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull)
}

/// Refuses a CA file that cannot be read or holds no PEM certificate.
#[cfg(feature = "postgres")]
fn check_ca_file(variable: &str, path: &str) -> Result<(), String> {
    let pem = std::fs::read(path).map_err(|e| format!("{variable}: cannot read `{path}`: {e}"))?;
    let mut certificates = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        certificate.map_err(|e| {
            format!("{variable}: `{path}` holds a certificate that is not valid PEM: {e}")
        })?;
        certificates += 1;
    }
    if certificates == 0 {
        return Err(format!(
            "{variable}: `{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(())
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<DatabaseSpec>, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        seed_database("hasura", &DatabaseConfig::default(), &|name| {
            map.get(name).cloned()
        })
    }

    fn mode(spec: &DatabaseSpec) -> &'static str {
        let Backend::Postgres(options) = &spec.backend else {
            panic!("not PostgreSQL: {spec:?}")
        };
        mode_name(options.get_ssl_mode())
    }

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn nothing_without_a_host() {
        assert!(read(&[("HASURA_DB__PORT", "5432")]).unwrap().is_none());
    }

    #[test]
    fn ssl_modes_in_either_spelling() {
        for (given, expected) in [
            ("Require", "require"),
            ("Disable", "disable"),
            ("Prefer", "prefer"),
            ("verify-full", "verify-full"),
            ("VERIFY_CA", "verify-ca"),
        ] {
            let spec = read(&[("HASURA_DB__HOST", "db"), ("HASURA_DB__SSL_MODE", given)])
                .unwrap()
                .unwrap();
            assert_eq!(mode(&spec), expected, "{given}");
            assert_eq!(
                spec.tls_settings.as_deref(),
                Some(format!("HASURA_DB__SSL_MODE={given}: {expected}").as_str())
            );
        }
        let unset = read(&[("HASURA_DB__HOST", "db")]).unwrap().unwrap();
        assert_eq!(mode(&unset), "prefer");
        assert_eq!(unset.tls_settings, None);
    }

    #[test]
    fn a_bad_mode_or_ca_file_names_its_variable() {
        let bad = read(&[("HASURA_DB__HOST", "db"), ("HASURA_DB__SSL_MODE", "strict")]);
        let bad = bad.unwrap_err();
        assert!(bad.starts_with("HASURA_DB__SSL_MODE: `strict`"), "{bad}");

        let missing = read(&[
            ("HASURA_DB__HOST", "db"),
            ("HASURA_DB_CA_PATH", "/nonexistent/ca.pem"),
        ])
        .unwrap_err();
        assert!(
            missing.starts_with("HASURA_DB_CA_PATH: cannot read `/nonexistent/ca.pem`"),
            "{missing}"
        );

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let empty = empty.to_str().unwrap();
        let no_cert = read(&[("HASURA_DB__HOST", "db"), ("HASURA_DB_CA_PATH", empty)]);
        let no_cert = no_cert.unwrap_err();
        assert!(no_cert.contains("holds no PEM certificate"), "{no_cert}");
    }

    #[test]
    fn require_with_a_ca_file_checks_the_chain_and_the_name_as_the_seed_did() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, CA).unwrap();
        let ca = ca.to_str().unwrap();
        let spec = read(&[
            ("HASURA_DB__HOST", "db"),
            ("HASURA_DB__SSL_MODE", "Require"),
            ("HASURA_DB_CA_PATH", ca),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(mode(&spec), "verify-full");
        assert_eq!(
            spec.tls_settings.unwrap(),
            format!("HASURA_DB__SSL_MODE=Require, HASURA_DB_CA_PATH={ca}: verify-full")
        );
        let chain_only = read(&[
            ("HASURA_DB__HOST", "db"),
            ("HASURA_DB__SSL_MODE", "verify-ca"),
            ("HASURA_DB_CA_PATH", ca),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(mode(&chain_only), "verify-ca");
    }

    #[test]
    fn a_bad_port_names_its_variable() {
        let error = read(&[("HASURA_DB__HOST", "db"), ("HASURA_DB__PORT", "x")]).unwrap_err();
        assert_eq!(error, "HASURA_DB__PORT: `x` is not a port number");
    }
}
