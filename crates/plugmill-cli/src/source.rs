//! Turning a `--plugins` value into a plugin source.

use anyhow::bail;
use plugmill::source::{LocalDirectory, PluginSource, S3Source};

/// The source a `--plugins` value names: a directory, or `s3://bucket/prefix/` reached with the
/// `AWS_*` environment (`AWS_ENDPOINT_URL` for S3-compatible servers).
pub fn open(spec: &str) -> anyhow::Result<Box<dyn PluginSource>> {
    if spec.starts_with("s3://") {
        return Ok(Box::new(S3Source::from_env(spec)?));
    }
    if spec.contains("://") {
        bail!("`{spec}`: unknown plugin source; use a directory path or `s3://bucket/prefix/`");
    }
    Ok(Box::new(LocalDirectory::new(spec)))
}
