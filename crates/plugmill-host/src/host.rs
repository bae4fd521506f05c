//! [`Host`]: a configured manager and its plugin source.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plugmill::config::precedence::{Origin, Setting};
use plugmill::config::{ConfigError, HostConfig};
use plugmill::source::{PluginSource, SourceError};
use plugmill::{LoadError, LoadReport, ManagerBuilder, PluginManager};

use crate::options::{CacheChoice, HostOptions, DEFAULT_FRONT_END_SECTIONS};
use crate::reloader::Reloader;

/// The configuration file read when none is named, if it exists.
const DEFAULT_CONFIG: &str = "plugmill.toml";

/// Why a host could not be assembled or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugin source cannot be opened.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The first load failed (the source could not be read, or strict mode refused it).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A trusted key file cannot be used.
    #[error("trusted key `{file}`: {message}")]
    TrustedKey {
        /// The key file.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The manager could not be built (unusable settings, the engine, the linker, the
    /// precompiled cache).
    #[error("cannot build the plugin manager: {0:#}")]
    Build(#[source] plugmill::BuildError),
}

/// A manager with the standard capabilities and its plugin source, configured from a
/// configuration file, the environment and a front end's options.
pub struct Host {
    manager: Arc<PluginManager>,
    source: Arc<dyn PluginSource>,
    source_url: String,
    config: HostConfig,
}

impl Host {
    /// Reads the configuration, builds the manager and opens the plugin source; loads
    /// nothing yet.
    pub fn assemble(options: &HostOptions) -> Result<Self, HostError> {
        let config = read_config(options.config_file.as_deref())?;
        let manager = build_manager(&config, options)?;
        let source_url = source_url_of(&config, options);
        let source = crate::source::open_source(&source_url)?;
        Ok(Self {
            manager: Arc::new(manager),
            source,
            source_url,
            config,
        })
    }

    /// [`Self::assemble`], then loads every plugin of the source.
    pub async fn start(options: &HostOptions) -> Result<(Self, LoadReport), HostError> {
        let host = Self::assemble(options)?;
        let report = host.load().await?;
        Ok((host, report))
    }

    /// The manager, to call plugins.
    pub fn manager(&self) -> &Arc<PluginManager> {
        &self.manager
    }

    /// The plugin source.
    pub fn source(&self) -> &Arc<dyn PluginSource> {
        &self.source
    }

    /// The plugin source's URL, as it was chosen (`./plugins`, `s3://...`).
    pub fn source_url(&self) -> &str {
        &self.source_url
    }

    /// The configuration, for the sections of front ends (`[server]`, `[tasks]`).
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Loads every plugin of the source (counted in [`crate::metrics`]).
    pub async fn load(&self) -> Result<LoadReport, LoadError> {
        let report = self.manager.load(self.source.as_ref()).await?;
        crate::metrics::record_load(&report);
        Ok(report)
    }

    /// Reloads: unchanged plugins stay, changed ones are swapped in atomically (counted in
    /// [`crate::metrics`]).
    pub async fn reload(&self) -> Result<LoadReport, LoadError> {
        let outcome = self.manager.reload(self.source.as_ref()).await;
        crate::metrics::record_reload(outcome.is_ok());
        if let Ok(report) = &outcome {
            crate::metrics::record_load(report);
        }
        outcome
    }

    /// How often the source is polled for changes: `[loading] reload_interval`, if set.
    pub fn reload_interval(&self) -> Option<Duration> {
        self.config.loading.reload_interval
    }

    /// Starts reloading on SIGHUP and, when `[loading] reload_interval` is set, by polling.
    pub fn spawn_reloader(&self) -> Reloader {
        self.spawn_reloader_every(self.reload_interval())
    }

    /// Starts reloading on SIGHUP and, with `interval`, by polling the source.
    pub fn spawn_reloader_every(&self, interval: Option<Duration>) -> Reloader {
        Reloader::spawn(self.manager.clone(), self.source.clone(), interval)
    }

    /// Releases what the capabilities hold across calls (database pools). Call it once the
    /// front end has finished its calls in flight.
    pub async fn shutdown(&self) {
        self.manager.shutdown().await;
    }
}

/// The manager `options` asks for, without a plugin source (to inspect single files), and
/// the configuration it was built from.
pub fn assemble_manager(options: &HostOptions) -> Result<(PluginManager, HostConfig), HostError> {
    let config = read_config(options.config_file.as_deref())?;
    let manager = build_manager(&config, options)?;
    Ok((manager, config))
}

/// The plugin source URL `options` and the configuration choose.
pub fn source_url(options: &HostOptions) -> Result<String, HostError> {
    let config = read_config(options.config_file.as_deref())?;
    Ok(source_url_of(&config, options))
}

fn source_url_of(config: &HostConfig, options: &HostOptions) -> String {
    crate::source::choose(options.plugins.as_deref(), config)
}

/// The named configuration file, else `./plugmill.toml` when it exists, else an empty
/// configuration (databases may still come from the environment).
fn read_config(file: Option<&Path>) -> Result<HostConfig, ConfigError> {
    let default = Path::new(DEFAULT_CONFIG);
    let chosen = Setting::new()
        .command_line(file)
        .default_value(default.exists().then_some(default))
        .value();
    match chosen {
        Some(file) => HostConfig::from_file(file),
        None => Ok(HostConfig::default()),
    }
}

fn build_manager(config: &HostConfig, options: &HostOptions) -> Result<PluginManager, HostError> {
    let mut builder = PluginManager::builder();
    if options.config_sections.is_empty() {
        builder = builder.config_sections(DEFAULT_FRONT_END_SECTIONS);
    }
    for sections in &options.config_sections {
        builder = builder.config_sections(*sections);
    }
    // The file's values first; each setting the options also give is then set to the value
    // `precedence` chooses (the file's again when it wins).
    builder = builder.config(config)?;
    let every_plugin = config.plugins.get(plugmill::grants::EVERY_PLUGIN);
    let stock = Setting::new()
        .file(every_plugin.and_then(|every| every.instance_stock))
        .default_value(options.instance_stock)
        .value();
    if let Some(stock) = stock {
        builder = builder.instance_stock_for_all(stock);
    }
    let call_timeout = Setting::new()
        .command_line(options.call_timeout)
        .file(config.limits.call_timeout)
        .value();
    if let Some(timeout) = call_timeout {
        builder = builder.call_timeout(timeout);
    }
    let switch = plugmill::config::precedence::switch;
    if switch(&[options.strict, config.loading.strict]) {
        builder = builder.strict(true);
    }
    let trap = plugmill::config::UnknownImportsConfig::Trap;
    if switch(&[
        options.unknown_imports_trap,
        config.loading.unknown_imports == trap,
    ]) {
        builder = builder.unknown_imports_trap(true);
    }
    for file in &options.trusted_key_files {
        let key_error = |message: String| HostError::TrustedKey {
            file: file.clone(),
            message,
        };
        let key = plugmill::signing::read_key_file(file).map_err(|e| key_error(e.to_string()))?;
        builder = builder
            .trust_public_key(&key)
            .map_err(|e| key_error(format!("{e:#}")))?;
    }
    if switch(&[options.require_signatures, config.trust.require_signatures]) {
        builder = builder.require_signatures(true);
    }
    builder = with_cache(builder, config, &options.cache);
    if let Some(observer) = &options.observer {
        builder = builder.observer(observer.clone());
    }
    builder.build().map_err(HostError::Build)
}

/// The cache directory: `--no-cache` turns it off, else the command line's, `[loading]
/// cache_dir`, the default directory (when it can be created), in that order.
fn with_cache(builder: ManagerBuilder, config: &HostConfig, cache: &CacheChoice) -> ManagerBuilder {
    let asked = match cache {
        CacheChoice::Disabled => return builder.without_cache(),
        CacheChoice::Dir(dir) => Some(dir.clone()),
        CacheChoice::Default => None,
    };
    let chosen = Setting::new()
        .command_line(asked)
        .file(config.loading.cache_dir.clone())
        .default_value(default_cache_dir())
        .chosen();
    match chosen {
        None => builder,
        Some(chosen) if chosen.origin != Origin::Default => builder.cache_dir(&chosen.value),
        // The implicit default is a convenience: where it cannot be created, plugins are
        // compiled at every start.
        Some(chosen) => match std::fs::create_dir_all(&chosen.value) {
            Ok(()) => builder.cache_dir(&chosen.value),
            Err(error) => {
                tracing::warn!(dir = %chosen.value.display(), %error, "running without the precompiled cache");
                builder
            }
        },
    }
}

/// `$XDG_CACHE_HOME/plugmill`, else `$HOME/.cache/plugmill`.
fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|base| base.join("plugmill"))
}
