//! Host configuration, `plugmill.toml`: limits, loading, trust, and per-plugin grants.
//!
//! ```toml
//! [limits]
//! call_timeout = "30s"
//! manifest_timeout = "5s"
//! max_memory_mib = 256
//! fuel = 5_000_000_000          # optional instruction budget per call
//!
//! [loading]
//! strict = false
//! unknown_imports = "reject"   # or "trap"
//! cache_dir = "/var/cache/plugmill"   # compiled plugins, reused across starts
//!
//! [trust]
//! require_signatures = true
//! public_keys = ["<base64 ed25519 public key>"]
//! public_key_files = ["keys/release.pub"]
//! pins = { "audit_log.wasm" = "<sha256 hex>" }
//!
//! [plugins.audit-log]          # "*" applies to every plugin
//! call_timeout = "2s"
//! timeouts = { "slow-report" = "20s" }
//! warm_instances = 4
//! fuel = 1_000_000
//! imports = ["plugins-manager:transactions-manager/transaction"]
//! env = ["TZ"]                 # names of host variables passed through
//! dirs = [{ host = "/srv/audit", guest = "/audit", writable = false }]
//! network = ["127.0.0.1:5432"]
//! databases = ["audit"]       # names under [databases]
//!
//! [databases.audit]            # see capabilities::database::config
//! url = "sqlite://audit.db"
//! ```
//!
//! Unknown keys are errors, and every error names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::capabilities::database::DatabaseConfig;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Where the configuration came from, for error messages.
    #[serde(skip)]
    pub source: String,
    /// Limits of every call.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// How plugins are loaded.
    #[serde(default)]
    pub loading: LoadingConfig,
    /// What the host trusts.
    #[serde(default)]
    pub trust: TrustConfig,
    /// Named databases plugins may be granted (see
    /// [`capabilities::database::config`](crate::capabilities::database::config)).
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseConfig>,
    /// Per-plugin settings and grants, by plugin name; `*` applies to every plugin.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// `[limits]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deadline of one call.
    #[serde(default, with = "humantime_serde")]
    pub call_timeout: Option<Duration>,
    /// Deadline for reading a manifest at load.
    #[serde(default, with = "humantime_serde")]
    pub manifest_timeout: Option<Duration>,
    /// Linear memory per instance, in MiB.
    pub max_memory_mib: Option<usize>,
    /// Instruction budget per call (enables fuel metering).
    pub fuel: Option<u64>,
    /// Plugin stdout and stderr kept per call, in KiB.
    pub output_capture_kib: Option<usize>,
}

/// `[loading]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadingConfig {
    /// Fail the load if any plugin is rejected.
    #[serde(default)]
    pub strict: bool,
    /// `reject` (default) or `trap`.
    #[serde(default)]
    pub unknown_imports: UnknownImportsConfig,
    /// Directory of the precompiled cache (relative to the configuration file); without it,
    /// every start compiles every plugin.
    #[serde(default)]
    pub cache_dir: Option<std::path::PathBuf>,
}

/// What to do with imports no host interface provides.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownImportsConfig {
    /// Reject the plugin.
    #[default]
    Reject,
    /// Link them as functions that trap.
    Trap,
}

/// `[trust]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Reject plugins without a valid signature.
    #[serde(default)]
    pub require_signatures: bool,
    /// Trusted ed25519 public keys, base64.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// Files holding trusted public keys (relative to the configuration file).
    #[serde(default)]
    pub public_key_files: Vec<PathBuf>,
    /// sha256 pins, by plugin file name.
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
}

/// `[plugins.NAME]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Deadline of one call to this plugin.
    #[serde(default, with = "humantime_serde")]
    pub call_timeout: Option<Duration>,
    /// Deadlines of single hooks, routes handlers or tasks.
    #[serde(default)]
    pub timeouts: BTreeMap<String, HumanDuration>,
    /// Keep this many warm instances instead of a fresh one per call.
    pub warm_instances: Option<usize>,
    /// Instruction budget per call.
    pub fuel: Option<u64>,
    /// Host interfaces beyond WASI the plugin may import.
    #[serde(default)]
    pub imports: Vec<String>,
    /// Host environment variables passed through, by name.
    #[serde(default)]
    pub env: Vec<String>,
    /// Directories the plugin may open.
    #[serde(default)]
    pub dirs: Vec<DirConfig>,
    /// `host:port` addresses the plugin may connect to.
    #[serde(default)]
    pub network: Vec<String>,
    /// Databases (`[databases.NAME]`) the plugin may open; granting one also grants the
    /// database interfaces.
    #[serde(default)]
    pub databases: Vec<String>,
}

/// A duration written as text, e.g. `"250ms"`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub struct HumanDuration(#[serde(with = "humantime_serde")] pub Duration);

/// One directory grant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirConfig {
    /// The directory on the host (relative to the configuration file).
    pub host: PathBuf,
    /// Where the plugin sees it.
    pub guest: String,
    /// Whether the plugin may write.
    #[serde(default)]
    pub writable: bool,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file (or `<inline>`).
    pub file: String,
    /// What is wrong, and where.
    pub message: String,
}

impl HostConfig {
    /// Parses configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let mut config: HostConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.source = file.to_string();
        for name in config.plugins.keys().filter(|n| n.as_str() != "*") {
            crate::loader::manifest::check_plugin_name(name).map_err(|problem| ConfigError {
                file: file.to_string(),
                message: format!("[plugins.{name}]: {problem}"),
            })?;
        }
        Ok(config)
    }

    /// Reads and parses a file; relative paths in it are taken relative to its directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            message: format!("cannot be read: {e}"),
        })?;
        let mut config = Self::parse(&text, &file)?;
        if let Some(base) = path.parent() {
            config.resolve_paths(base);
        }
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        if let Some(dir) = &mut self.loading.cache_dir {
            *dir = base.join(&*dir);
        }
        for key in &mut self.trust.public_key_files {
            *key = base.join(&*key);
        }
        for plugin in self.plugins.values_mut() {
            for dir in &mut plugin.dirs {
                dir.host = base.join(&dir.host);
            }
        }
        for database in self.databases.values_mut() {
            if let Some(url) = &database.url {
                database.url = Some(crate::capabilities::database::config::relative_to(
                    url, base,
                ));
            }
        }
    }
}

impl HostConfig {
    /// An error about this configuration.
    pub(crate) fn error(&self, message: String) -> ConfigError {
        ConfigError {
            file: if self.source.is_empty() {
                "<configuration>".into()
            } else {
                self.source.clone()
            },
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            [limits]
            call_timeout = "30s"
            max_memory_mib = 256
            fuel = 5_000_000_000
            [loading]
            unknown_imports = "trap"
            [trust]
            require_signatures = true
            pins = { "a.wasm" = "00" }
            [plugins.audit-log]
            call_timeout = "2s"
            timeouts = { "slow-report" = "20s" }
            env = ["TZ"]
            dirs = [{ host = "data", guest = "/data" }]
            network = ["127.0.0.1:5432"]
            [plugins."*"]
            warm_instances = 2
        "#;
        let config = HostConfig::parse(text, "plugmill.toml").unwrap();
        assert_eq!(config.limits.call_timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.loading.unknown_imports, UnknownImportsConfig::Trap);
        let audit = &config.plugins["audit-log"];
        assert_eq!(
            audit.timeouts["slow-report"],
            HumanDuration(Duration::from_secs(20))
        );
        assert!(!audit.dirs[0].writable);
        assert_eq!(config.plugins["*"].warm_instances, Some(2));
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let error = HostConfig::parse(
            "[limits]\ncall_timeout = \"30s\"\ncall_timeuot = \"1s\"\n",
            "plugmill.toml",
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("plugmill.toml: "), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("call_timeuot"), "{text}");

        let error = HostConfig::parse("[limits]\ncall_timeout = \"soon\"\n", "x.toml").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");

        let error = HostConfig::parse("[plugins.Bad_Name]\nfuel = 1\n", "x.toml").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("[plugins.Bad_Name]: the plugin name `Bad_Name` contains 'B'"),
            "{error}"
        );
    }
}
