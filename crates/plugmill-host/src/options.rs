//! [`HostOptions`]: what a front end asks of the host assembly.

use std::path::PathBuf;
use std::time::Duration;

use plugmill::config::ConfigSections;

/// The sections of plugmill's own front ends (`plugmill_server::CONFIG_SECTIONS`,
/// `plugmill_tasks::CONFIG_SECTIONS`, which sit above this crate), accepted when the options
/// register none: a process running no front end (the seed's `init_plugin_manager`, an
/// embedder) may read the file that configures them. The server's tests check that it is the
/// union of what the front ends register.
pub const DEFAULT_FRONT_END_SECTIONS: ConfigSections = ConfigSections::new(
    "plugmill's front ends",
    &["server", "auth", "console", "tasks", "task_types"],
);

/// Where compiled plugins are cached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CacheChoice {
    /// `[loading] cache_dir` when configured, else `$XDG_CACHE_HOME/plugmill` or
    /// `~/.cache/plugmill` when it can be created, else no cache.
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No cache: every start compiles every plugin.
    Disabled,
}

/// What a front end asks for: the command line's layer of every setting. Whatever it leaves
/// unset comes from the configuration file, then the seed system's environment, then the
/// defaults (the order of [`plugmill::config::precedence`]; a front end that reads plugmill's
/// own variables, as [`Self::from_env`] does, puts their values here, since they come before
/// the file too).
#[derive(Clone, Default)]
pub struct HostOptions {
    /// The configuration file; `None` reads `./plugmill.toml` when it exists.
    pub config_file: Option<PathBuf>,
    /// The plugin source, a directory or `s3://bucket/prefix/`; `None` takes
    /// `[loading] plugins`, then the seed's `AWS_S3_PUBLIC_BUCKET`, then `./plugins`.
    pub plugins: Option<String>,
    /// Refuse the whole load when any plugin is rejected.
    pub strict: bool,
    /// Link imports no host interface provides as functions that trap.
    pub unknown_imports_trap: bool,
    /// The deadline of every call, over the configuration's.
    pub call_timeout: Option<Duration>,
    /// Files holding public keys whose signatures are trusted.
    pub trusted_key_files: Vec<PathBuf>,
    /// Reject plugins without a valid signature.
    pub require_signatures: bool,
    /// Where compiled plugins are cached.
    pub cache: CacheChoice,
    /// Told of every call when it ends (a front end's metrics).
    pub observer: Option<std::sync::Arc<dyn plugmill::CallObserver>>,
    /// The stock of ready instances of every plugin the configuration gives none
    /// (`instance_stock`, under `[plugins."*"]` or the plugin's own section); `None` keeps
    /// the library's default, [`plugmill::DEFAULT_INSTANCE_STOCK`].
    pub instance_stock: Option<usize>,
    /// The top-level sections of `plugmill.toml` read by the front ends of this process (each
    /// registers its own, see [`Self::register_sections`]). Left empty, as by a process that
    /// runs none (the seed's `init_plugin_manager`), the sections of plugmill's own front ends
    /// are accepted ([`crate::DEFAULT_FRONT_END_SECTIONS`]), since one file configures them all.
    pub config_sections: Vec<ConfigSections>,
}

impl std::fmt::Debug for HostOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostOptions")
            .field("config_file", &self.config_file)
            .field("plugins", &self.plugins)
            .field("strict", &self.strict)
            .field("cache", &self.cache)
            .field("observer", &self.observer.is_some())
            .field("instance_stock", &self.instance_stock)
            .field("config_sections", &self.config_sections)
            .finish_non_exhaustive()
    }
}

impl HostOptions {
    /// Accepts the top-level sections a front end reads itself (`[server]`, `[tasks]`):
    /// anything no front end, capability or the core registered is refused as unknown.
    pub fn register_sections(&mut self, sections: ConfigSections) -> &mut Self {
        if !self.config_sections.contains(&sections) {
            self.config_sections.push(sections);
        }
        self
    }

    /// Options from plugmill's environment variables: `PLUGMILL_CONFIG`, `PLUGMILL_PLUGINS`,
    /// `PLUGMILL_CACHE_DIR`; the rest at their defaults.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            config_file: var("PLUGMILL_CONFIG").map(PathBuf::from),
            plugins: var("PLUGMILL_PLUGINS"),
            cache: var("PLUGMILL_CACHE_DIR")
                .map(|dir| CacheChoice::Dir(dir.into()))
                .unwrap_or_default(),
            ..Self::default()
        }
    }
}
