//! Host configuration, `plugmill.toml`: limits, loading, trust and per-plugin settings, plus
//! the sections each capability and front end reads for itself.
//!
//! ```toml
//! [limits]
//! call_timeout = "30s"
//! manifest_timeout = "5s"
//! max_memory_mib = 256
//! fuel = 5_000_000_000          # optional instruction budget per call
//!
//! [loading]
//! plugins = "s3://bucket/plugins/"   # the plugin source (default ./plugins)
//! strict = false
//! unknown_imports = "reject"   # or "trap"
//! cache_dir = "/var/cache/plugmill"   # compiled plugins, reused across starts
//! max_plugin_size = "64 MiB"   # larger plugin files are refused before they are read
//! reload_interval = "10s"      # poll the source for changes (server and worker)
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
//! instance_stock = 32         # never-used instances kept ready once called (default 16; 0: none)
//! # warm_instances = 4         # or reuse instances across calls instead
//! fuel = 1_000_000
//! imports = ["my:app/documents"]   # an embedder's interfaces the plugin may import
//! env = ["TZ"]                 # names of host variables passed through
//! dirs = [{ host = "/srv/audit", guest = "/audit", writable = false }]
//! network = ["127.0.0.1:5432"]
//! databases = ["audit"]        # the database capability's grant
//! variables = { region = "eu" }   # the variables capability's values
//!
//! [databases.audit]            # the database capability's section
//! url = "sqlite://audit.db"
//!
//! [authorization]              # the authorization capability's section
//! super_admin_tenant = "..."
//! ```
//!
//! Capabilities read their own sections ([`HostConfig::section`]) and their own key of each
//! `[plugins.NAME]` table ([`HostConfig::plugin_entries`]); the parts above the core (the
//! server, the task service, an embedding service) read theirs the same way and register them
//! when the host is assembled ([`registry`]). Keys nobody reads are errors, and every error
//! names the file, the line and the key. When a setting can also be given on the command line
//! or in the environment, [`precedence`] decides which value wins.

pub(crate) mod names;
pub mod precedence;
pub mod registry;
mod sections;
pub mod values;

pub use registry::ConfigSections;
pub use values::{ByteSize, HumanDuration};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The sections the core reads.
const CORE_SECTIONS: &[&str] = &["limits", "loading", "trust", "plugins"];

/// The keys of `[plugins.NAME]` the core reads.
const CORE_PLUGIN_KEYS: &[&str] = &[
    "call_timeout",
    "timeouts",
    "warm_instances",
    "instance_stock",
    "fuel",
    "imports",
    "env",
    "dirs",
    "network",
];

/// The whole file: the core sections, parsed; the others are read on demand by the
/// capability or front end they belong to.
#[derive(Clone, Debug, Default, Deserialize)]
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
    /// Per-plugin settings, by plugin name; `*` applies to every plugin.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    /// The text, for the sections read on demand.
    #[serde(skip)]
    text: ConfigText,
    /// The directory relative paths are taken from.
    #[serde(skip)]
    base: Option<PathBuf>,
}

/// Configuration text: never printed, since it may hold credentials.
#[derive(Clone, Default)]
struct ConfigText(String);

impl fmt::Debug for ConfigText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes of configuration>", self.0.len())
    }
}

/// `[limits]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deadline of one call.
    #[serde(default, with = "values::duration")]
    pub call_timeout: Option<Duration>,
    /// Deadline for reading a manifest at load.
    #[serde(default, with = "values::duration")]
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
    pub cache_dir: Option<PathBuf>,
    /// Where plugins come from: a directory (relative to the configuration file) or
    /// `s3://bucket/prefix/`.
    pub plugins: Option<String>,
    /// How often a long-running front end polls the source for changes.
    #[serde(default, with = "values::duration")]
    pub reload_interval: Option<Duration>,
    /// The largest plugin file loaded (default 64 MiB); larger ones are refused from their
    /// size, before they are read.
    pub max_plugin_size: Option<ByteSize>,
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

/// The core's keys of `[plugins.NAME]`; capabilities read their own keys of the same table
/// (see [`HostConfig::plugin_entries`]).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PluginConfig {
    /// Deadline of one call to this plugin.
    #[serde(default, with = "values::duration")]
    pub call_timeout: Option<Duration>,
    /// Deadlines of single hooks, routes handlers or tasks.
    #[serde(default)]
    pub timeouts: BTreeMap<String, HumanDuration>,
    /// Keep this many warm instances instead of a fresh one per call.
    pub warm_instances: Option<usize>,
    /// Ready instances the plugin's stock keeps for calls (0: each call instantiates its own).
    pub instance_stock: Option<usize>,
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
}

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
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file (or `<configuration>` when the settings were made in code).
    pub file: String,
    /// What is wrong, and where.
    pub message: String,
}

impl ConfigError {
    /// An error about the configuration in `file`. Credentials in the message (a URL's
    /// password, a `password=` parameter) are redacted.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            message: crate::redact_secrets(&message.into()),
        }
    }
}

/// A TOML error as "line L, column C: what is wrong", without the quoted line TOML adds
/// (the line may hold a secret).
fn describe_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    let Some(span) = error.span() else {
        return message.to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}: {message}")
}

impl HostConfig {
    /// Parses configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let error = |e: toml::de::Error| ConfigError::new(file, describe_toml_error(&e, text));
        let mut config: HostConfig = toml::from_str(text).map_err(error)?;
        config.source = file.to_string();
        config.text = ConfigText(text.to_string());
        for name in config.plugins.keys().filter(|n| n.as_str() != "*") {
            names::check_plugin_name(name)
                .map_err(|problem| config.error(format!("[plugins.{name}]: {problem}")))?;
        }
        Ok(config)
    }

    /// Reads and parses a file; relative paths in it are taken relative to its directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&file, format!("cannot be read: {e}")))?;
        let mut config = Self::parse(&text, &file)?;
        if let Some(base) = path.parent() {
            config.base = Some(base.to_path_buf());
            config.resolve_paths();
        }
        Ok(config)
    }

    /// Reads the section at `path` (e.g. `["authorization"]`) with the reader's own type;
    /// `None` when the file has no such section.
    pub fn section<T: for<'de> Deserialize<'de>>(
        &self,
        path: &[&str],
    ) -> Result<Option<T>, ConfigError> {
        sections::at(&self.text.0, path).map_err(|e| self.toml_error(e))
    }

    /// Reads `key` of every `[plugins.NAME]` table that has it (`*` included), by plugin name.
    pub fn plugin_entries<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<BTreeMap<String, T>, ConfigError> {
        sections::each_plugin(&self.text.0, key).map_err(|e| self.toml_error(e))
    }

    /// Refuses any section or `[plugins.NAME]` key that neither the core nor one of `sections`
    /// / `plugin_keys` (those registered by the capabilities and the parts above the core)
    /// reads, naming it and its line.
    pub fn check_keys(&self, sections: &[&str], plugin_keys: &[&str]) -> Result<(), ConfigError> {
        let top: Vec<&str> = CORE_SECTIONS.iter().chain(sections).copied().collect();
        let plugin: Vec<&str> = CORE_PLUGIN_KEYS
            .iter()
            .chain(plugin_keys)
            .copied()
            .collect();
        sections::check_keys(&self.text.0, &top, &plugin).map_err(|e| self.toml_error(e))
    }

    /// `path` taken relative to the configuration file's directory (unchanged when absolute,
    /// or when the configuration was not read from a file).
    pub fn relative_path(&self, path: &Path) -> PathBuf {
        match &self.base {
            Some(base) => base.join(path),
            None => path.to_path_buf(),
        }
    }

    /// The directory relative paths are taken from, when the configuration came from a file.
    pub fn base_dir(&self) -> Option<&Path> {
        self.base.as_deref()
    }

    /// An error about this configuration (credentials in it are redacted).
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        let file = if self.source.is_empty() {
            "<configuration>"
        } else {
            &self.source
        };
        ConfigError::new(file, message)
    }

    fn toml_error(&self, error: toml::de::Error) -> ConfigError {
        self.error(describe_toml_error(&error, &self.text.0))
    }

    fn resolve_paths(&mut self) {
        if let Some(dir) = self.loading.cache_dir.take() {
            self.loading.cache_dir = Some(self.relative_path(&dir));
        }
        if let Some(plugins) = self.loading.plugins.take() {
            self.loading.plugins = Some(if plugins.contains("://") {
                plugins
            } else {
                self.relative_path(Path::new(&plugins))
                    .display()
                    .to_string()
            });
        }
        let keys: Vec<PathBuf> = std::mem::take(&mut self.trust.public_key_files);
        self.trust.public_key_files = keys.iter().map(|k| self.relative_path(k)).collect();
        let base = self.base.clone();
        for plugin in self.plugins.values_mut() {
            for dir in &mut plugin.dirs {
                if let Some(base) = &base {
                    dir.host = base.join(&dir.host);
                }
            }
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
            instance_stock = 0
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
        assert_eq!(config.plugins["*"].instance_stock, Some(0));
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
