//! Turning a `--plugins` value into a plugin source.

use anyhow::bail;
use plugmill::source::{LocalDirectory, PluginSource};

/// The source a `--plugins` value names: a directory, or (not yet available) `s3://`.
pub fn open(spec: &str) -> anyhow::Result<Box<dyn PluginSource>> {
    if spec.starts_with("s3://") {
        bail!("`{spec}`: S3 plugin sources are not available in this build yet; use a directory");
    }
    if spec.contains("://") {
        bail!("`{spec}`: unknown plugin source; use a directory path or `s3://bucket/prefix/`");
    }
    Ok(Box::new(LocalDirectory::new(spec)))
}
