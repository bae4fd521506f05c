//! Turning a plugin source URL into a [`PluginSource`].

use std::sync::Arc;

use plugmill::config::precedence::Setting;
use plugmill::config::HostConfig;
use plugmill::source::{LocalDirectory, PluginSource, S3Source, SourceError};

/// The source when nothing names one: the embedded default.
pub const DEFAULT_PLUGINS: &str = "./plugins";

/// The seed system's variable naming the bucket whose `plugins/` prefix holds the plugins.
pub const SEED_BUCKET_VARIABLE: &str = "AWS_S3_PUBLIC_BUCKET";

/// The source a URL names: `s3://bucket/prefix/` (reached with the `AWS_*` environment), or
/// a directory.
pub fn open_source(spec: &str) -> Result<Arc<dyn PluginSource>, SourceError> {
    if spec.starts_with("s3://") {
        return Ok(Arc::new(S3Source::from_env(spec)?));
    }
    if spec.contains("://") {
        return Err(SourceError::Other(format!(
            "`{spec}`: unknown plugin source; use a directory path or `s3://bucket/prefix/`"
        )));
    }
    Ok(Arc::new(LocalDirectory::new(spec)))
}

/// The source to load: the one asked for, else `[loading] plugins`, else the seed's bucket,
/// else `./plugins`.
pub(crate) fn choose(asked: Option<&str>, config: &HostConfig) -> String {
    let bucket = std::env::var(SEED_BUCKET_VARIABLE).ok();
    let bucket = bucket.as_deref().map(str::trim).filter(|b| !b.is_empty());
    Setting::new()
        .command_line(asked.filter(|s| !s.is_empty()).map(str::to_string))
        .file(config.loading.plugins.clone())
        .seed_environment(
            SEED_BUCKET_VARIABLE,
            bucket.map(|bucket| format!("s3://{bucket}/plugins/")),
        )
        .value_or(DEFAULT_PLUGINS.to_string())
}
