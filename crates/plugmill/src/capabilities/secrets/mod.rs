//! The secrets capability: `plugmill:secrets/secrets@0.1.0` (WIT in `wit/secrets`). A plugin
//! keeps values (tokens, keys it was handed) per tenant, sealed at rest with
//! XChaCha20-Poly1305 ([`keys`]) in a database of `[databases]` ([`store`]).
//!
//! ```toml
//! [secrets]
//! database = "records"            # a database of [databases], PostgreSQL or SQLite
//! max_value = "64 KiB"            # the largest value (the default)
//! keys = [                        # the first seals new values; every one opens its own
//!   { id = "2026-12", env = "PLUGMILL_SECRETS_KEY" },          # 32 bytes, base64 or hex
//!   { id = "2026-01", file = "keys/secrets-2026-01.key" },     # relative to plugmill.toml
//! ]
//! ```
//!
//! Whose values: a call reads and writes only the rows of its plugin and of its tenant, the
//! one the embedding host sets around the call with [`with_tenant`](crate::with_tenant) (the
//! server sets the tenant of the caller's verified claims); a call without a tenant gets
//! `no-tenant`. Neither the plugin nor the tenant is a parameter a plugin could change.
//! Each value is sealed with its row (tenant, plugin, name) as associated data, so a value
//! copied to another row does not open. Values never reach a log line, an error or a metric.
//!
//! Rotation: put the new key first and keep the old ones; values sealed with an old key stay
//! readable and are sealed with the new key when next written.

pub mod keys;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker};

pub use keys::{Keyring, SealingKey};
pub use store::Store;

use crate::capabilities::database::Databases;
use crate::capabilities::{Admission, Capability};
use crate::config::values::ByteSize;
use crate::config::{ConfigError, HostConfig};
use crate::host::{current_tenant, HostState};
use store::Row;

/// Bindings generated from the WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit/secrets",
        world: "plugmill:secrets/secrets-client",
        imports: { default: async },
    });
}
use generated::plugmill::secrets::secrets::{self as wit, Error};

/// The default largest value: 64 KiB.
pub const DEFAULT_MAX_VALUE: usize = 64 << 10;
/// The longest secret name.
const MAX_NAME_LEN: usize = 128;
/// The largest value configuration may allow: 1 MiB.
const MAX_MAX_VALUE: u64 = 1 << 20;

/// `[secrets]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsSection {
    database: Option<String>,
    max_value: Option<ByteSize>,
    #[serde(default)]
    keys: Vec<KeySource>,
}

/// One entry of `keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySource {
    id: String,
    env: Option<String>,
    file: Option<PathBuf>,
}

/// The secrets capability: where values live and the keys sealing them.
#[derive(Debug)]
pub struct Secrets {
    database: Option<String>,
    keys: Keyring,
    max_value: usize,
    store: tokio::sync::OnceCell<Arc<Store>>,
}

impl Default for Secrets {
    fn default() -> Self {
        Self {
            database: None,
            keys: Keyring::default(),
            max_value: DEFAULT_MAX_VALUE,
            store: tokio::sync::OnceCell::new(),
        }
    }
}

impl Secrets {
    /// Keeps values in database `name` of `[databases]`, sealed with `keys` (the first seals).
    pub fn use_database(&mut self, name: &str, keys: Keyring) -> &mut Self {
        self.database = Some(name.to_string());
        self.keys = keys;
        self
    }

    /// Sets the largest value.
    pub fn set_max_value(&mut self, bytes: usize) -> &mut Self {
        self.max_value = bytes;
        self
    }

    /// The store, opened on first use from the database capability's pool.
    async fn store(&self, databases: Option<Arc<Databases>>) -> Result<Arc<Store>, Error> {
        let Some(name) = &self.database else {
            return Err(Error::Unavailable(
                "the host keeps no secrets: configure [secrets] database and keys".into(),
            ));
        };
        self.store
            .get_or_try_init(|| async {
                let pool = match databases {
                    Some(databases) => databases.pool(name).await,
                    None => None,
                };
                pool.map(|pool| Arc::new(Store::new(pool))).ok_or_else(|| {
                    Error::Unavailable(format!(
                        "[secrets] database `{name}` is not a database of [databases]"
                    ))
                })
            })
            .await
            .cloned()
    }
}

fn check_name(name: &str) -> Result<(), SecretError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    if valid {
        Ok(())
    } else {
        Err(SecretError::InvalidName(format!(
            "`{}` is not a secret name: use 1 to {MAX_NAME_LEN} ASCII letters, digits, '_', '-', '.' and '/'",
            crate::config::values::shorten(name).escape_debug()
        )))
    }
}

impl Capability for Secrets {
    fn name(&self) -> &'static str {
        "secrets"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        &["plugmill:secrets/secrets"]
    }

    fn config_sections(&self) -> &'static [&'static str] {
        &["secrets"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let Some(section) = config.section::<SecretsSection>(&["secrets"])? else {
            return Ok(());
        };
        let mut keys = Vec::new();
        for source in section.keys {
            let text = match (&source.env, &source.file) {
                (Some(variable), None) => std::env::var(variable).map_err(|_| {
                    config.error(format!(
                        "[secrets] key `{}`: the environment variable `{variable}` is not set",
                        source.id
                    ))
                })?,
                (None, Some(file)) => {
                    let path = config.relative_path(file);
                    crate::files::read_regular_text(&path, 4096).map_err(|e| {
                        config.error(format!(
                            "[secrets] key `{}`: `{}` cannot be read: {e}",
                            source.id,
                            path.display()
                        ))
                    })?
                }
                _ => {
                    return Err(config.error(format!(
                        "[secrets] key `{}`: give one of `env` or `file`",
                        source.id
                    )))
                }
            };
            let key = SealingKey::from_text(&source.id, &text)
                .map_err(|problem| config.error(format!("[secrets] {problem}")))?;
            keys.push(key);
        }
        self.keys = Keyring::new(keys).map_err(|p| config.error(format!("[secrets] {p}")))?;
        if let Some(max) = section.max_value {
            self.max_value = max
                .within(1, MAX_MAX_VALUE)
                .map_err(|e| config.error(format!("[secrets] max_value: {e}")))?
                as usize;
        }
        self.database = section.database;
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.database.is_some() && self.keys.is_empty() {
            return Err(ConfigError::new(
                "<configuration>",
                "[secrets] keeps values in a database but has no key to seal them: add `keys = [{ id = \"...\", env = \"...\" }]`",
            ));
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
        Ok(())
    }

    fn admit(&self, plugin: &str, interface: &str) -> Admission {
        if self.database.is_some() {
            return Admission::Admitted;
        }
        Admission::Warn(format!(
            "plugin `{plugin}` imports `{interface}` but the host keeps no secrets: its calls fail as `unavailable` until [secrets] names a database and keys"
        ))
    }
}

/// Why a secret cannot be read or written; messages never carry a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The call has no tenant.
    #[error("{0}")]
    NoTenant(String),
    /// Not a secret name.
    #[error("{0}")]
    InvalidName(String),
    /// Over the largest value.
    #[error("{0}")]
    TooLarge(String),
    /// The store failed, is not configured, or the value does not open.
    #[error("{0}")]
    Unavailable(String),
}

impl From<SecretError> for Error {
    fn from(error: SecretError) -> Self {
        match error {
            SecretError::NoTenant(m) => Error::NoTenant(m),
            SecretError::InvalidName(m) => Error::InvalidName(m),
            SecretError::TooLarge(m) => Error::TooLarge(m),
            SecretError::Unavailable(m) => Error::Unavailable(m),
        }
    }
}

/// Whose secrets a call works with: the capability and its store, the plugin, the tenant.
pub struct SecretsOf {
    secrets: Arc<Secrets>,
    store: Arc<Store>,
    plugin: Arc<str>,
    tenant: Arc<str>,
}

impl SecretsOf {
    /// The secrets of the calling plugin for the call's tenant.
    pub async fn caller(state: &mut HostState) -> Result<Self, SecretError> {
        let plugin: Arc<str> = Arc::from(state.plugin_name());
        let Some(secrets) = state.capability::<Secrets>() else {
            return Err(SecretError::Unavailable(
                "the host has no secrets capability".into(),
            ));
        };
        let Some(tenant) = current_tenant() else {
            return Err(SecretError::NoTenant(format!(
                "plugin `{plugin}` was called for no tenant: secrets are kept per tenant"
            )));
        };
        let store = secrets
            .store(state.capability::<Databases>())
            .await
            .map_err(|e| match e {
                Error::Unavailable(m) => SecretError::Unavailable(m),
                other => SecretError::Unavailable(format!("{other:?}")),
            })?;
        Ok(Self {
            secrets,
            store,
            plugin,
            tenant,
        })
    }

    /// The tenant they belong to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn row<'a>(&'a self, name: &'a str) -> Row<'a> {
        Row {
            tenant: &self.tenant,
            plugin: &self.plugin,
            name,
        }
    }

    fn unavailable(&self, doing: &str, error: sqlx::Error) -> SecretError {
        tracing::warn!(plugin = %self.plugin, tenant = %self.tenant, "secrets store: {doing}: {error}");
        SecretError::Unavailable(format!(
            "the secrets store failed while {doing} (the host's log has the details)"
        ))
    }

    /// The value of `name`, if set.
    pub async fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        check_name(name)?;
        let row = self.row(name);
        let found = self
            .store
            .get(row)
            .await
            .map_err(|e| self.unavailable("reading", e))?;
        tracing::debug!(plugin = %self.plugin, tenant = %self.tenant, secret = %name, found = found.is_some(), "secret read");
        let Some((key_id, sealed)) = found else {
            return Ok(None);
        };
        let damaged =
            || SecretError::Unavailable(format!("the stored value of `{name}` is damaged"));
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| damaged())?;
        let plain = self
            .secrets
            .keys
            .open(&key_id, &row.context(), &sealed)
            .map_err(|e| SecretError::Unavailable(format!("`{name}`: {e}")))?;
        String::from_utf8(plain).map(Some).map_err(|_| damaged())
    }

    /// Sets `name` to `value`.
    pub async fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        check_name(name)?;
        if value.len() > self.secrets.max_value {
            return Err(SecretError::TooLarge(format!(
                "a value of {} bytes is over {} bytes, the largest the host keeps",
                value.len(),
                self.secrets.max_value
            )));
        }
        let row = self.row(name);
        let (key_id, sealed) = self
            .secrets
            .keys
            .seal(&row.context(), value.as_bytes())
            .map_err(|e| SecretError::Unavailable(e.to_string()))?;
        let sealed = base64::engine::general_purpose::STANDARD.encode(sealed);
        self.store
            .put(row, &key_id, &sealed)
            .await
            .map_err(|e| self.unavailable("writing", e))?;
        tracing::debug!(plugin = %self.plugin, tenant = %self.tenant, secret = %name, key = %key_id, "secret written");
        Ok(())
    }

    /// Deletes `name`; whether it existed.
    pub async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        check_name(name)?;
        let existed = self
            .store
            .delete(self.row(name))
            .await
            .map_err(|e| self.unavailable("deleting", e))?;
        tracing::debug!(plugin = %self.plugin, tenant = %self.tenant, secret = %name, existed, "secret deleted");
        Ok(existed)
    }

    /// The names kept, sorted.
    pub async fn names(&self) -> Result<Vec<String>, SecretError> {
        self.store
            .list(&self.tenant, &self.plugin)
            .await
            .map_err(|e| self.unavailable("listing", e))
    }
}

impl wit::Host for HostState {
    async fn get(&mut self, name: String) -> Result<Option<String>, Error> {
        check_name(&name)?;
        Ok(SecretsOf::caller(self).await?.get(&name).await?)
    }

    async fn set(&mut self, name: String, value: String) -> Result<(), Error> {
        check_name(&name)?;
        Ok(SecretsOf::caller(self).await?.set(&name, &value).await?)
    }

    async fn delete(&mut self, name: String) -> Result<bool, Error> {
        check_name(&name)?;
        Ok(SecretsOf::caller(self).await?.delete(&name).await?)
    }

    async fn names(&mut self) -> Result<Vec<String>, Error> {
        Ok(SecretsOf::caller(self).await?.names().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["api-token", "a", "keys/signing.pem", "X_9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "ключ", &"a".repeat(129), "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
