//! One module per command; each returns the process exit code.

mod call;
mod inspect;
mod keys;
mod list;
mod upload;
mod watch;

use std::process::ExitCode;

use anyhow::Context as _;

use plugmill::{LoadReport, PluginManager};

use crate::args::{CallTarget, Cli, Command, HostArgs};

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let host = cli.host;
    match cli.command {
        Command::Inspect { file } => inspect::run(&host, &file).await,
        Command::List => list::run(&host).await,
        Command::Upload { files, workspace } => {
            upload::run(&host, &files, workspace.as_deref()).await
        }
        Command::Watch { interval } => watch::run(&host, interval).await,
        Command::Keygen { out } => keys::keygen(&out),
        Command::Sign { key, files } => keys::sign(&key, &files),
        Command::Call { target } => match target {
            CallTarget::Hook { name, args } => call::hook(&host, &name, &args).await,
            CallTarget::Route { path, data } => call::route(&host, &path, &data).await,
            CallTarget::Task { name, data } => call::task(&host, &name, &data).await,
        },
    }
}

/// A manager configured from the command line.
fn manager(host: &HostArgs) -> anyhow::Result<PluginManager> {
    let mut builder = PluginManager::builder();
    let default_config = std::path::Path::new("plugmill.toml");
    let config_file = host
        .config
        .as_deref()
        .or(default_config.exists().then_some(default_config));
    // Without a file the empty configuration still applies: databases may come from the
    // environment (PLUGMILL_DATABASE_<NAME>).
    let config = match config_file {
        Some(file) => plugmill::config::HostConfig::from_file(file)?,
        None => plugmill::config::HostConfig::default(),
    };
    builder = builder.config(&config)?;
    if host.strict {
        builder = builder.strict(true);
    }
    if host.unknown_imports_trap {
        builder = builder.unknown_imports_trap(true);
    }
    if let Some(timeout) = host.timeout {
        builder = builder.call_timeout(timeout);
    }
    for file in &host.trusted_keys {
        let key = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read trusted key `{}`", file.display()))?;
        builder = builder
            .trust_public_key(&key)
            .with_context(|| format!("trusted key `{}`", file.display()))?;
    }
    if host.require_signatures {
        builder = builder.require_signatures(true);
    }
    if host.no_cache {
        return builder.without_cache().build();
    }
    if let Some(dir) = &host.cache_dir {
        return builder.cache_dir(dir).build();
    }
    let configured = config.loading.cache_dir.is_some();
    match default_cache_dir().filter(|_| !configured) {
        // The implicit default is a convenience: where it cannot be created, plugins are
        // compiled at every start.
        Some(dir) => match std::fs::create_dir_all(&dir) {
            Ok(()) => builder.cache_dir(&dir).build(),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "running without the precompiled cache");
                builder.build()
            }
        },
        None => builder.build(),
    }
}

/// `$XDG_CACHE_HOME/plugmill`, else `$HOME/.cache/plugmill`.
fn default_cache_dir() -> Option<std::path::PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| std::path::Path::new(&home).join(".cache")))
        .map(|base| base.join("plugmill"))
}

/// A manager with every plugin of `--plugins` loaded; rejections are warned about on stderr.
async fn loaded(host: &HostArgs) -> anyhow::Result<(PluginManager, LoadReport)> {
    let manager = manager(host)?;
    let source = crate::source::open(&host.plugins)?;
    let report = manager.load(source.as_ref()).await?;
    Ok((manager, report))
}

/// Parses a JSON command-line value, saying which option was wrong.
fn parse_json(option: &str, text: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("{option} is not valid JSON ({e}): {text}"))
}
