//! Plugin sources: where plugin bytes come from. A source lists its `*.wasm` files and reads
//! them; anything else it finds is reported as skipped, with the reason.
//!
//! [`LocalDirectory`] is the embedded default (`./plugins`); [`S3Source`] reads a bucket
//! prefix of any S3-compatible store.

mod local;
#[cfg(feature = "s3")]
mod s3;

pub use local::{signature_path, LocalDirectory};
#[cfg(feature = "s3")]
pub use s3::{S3Settings, S3Source, Uploaded};

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt as _;

/// The bytes of one plugin file.
#[derive(Clone, Debug)]
pub struct PluginArtifact {
    /// Where it came from: a path or an object key, as shown to users.
    pub file: String,
    /// The file's contents.
    pub bytes: Vec<u8>,
    /// The detached signature beside it (`<file>.sig`), if there is one.
    pub signature: Option<Vec<u8>>,
}

/// An entry of a source that is not loaded, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The entry's path or key.
    pub file: String,
    /// Why it was skipped.
    pub reason: String,
}

/// What a source holds: the plugin files, and what it skipped.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// Plugin files, in a stable order (sorted by name).
    pub artifacts: Vec<PluginArtifact>,
    /// Entries that are not plugin files.
    pub skipped: Vec<Skipped>,
    /// Plugin files that could not be read (a failed download, a permission error): they
    /// are rejected, so on a reload their previous version keeps serving.
    pub unreadable: Vec<Skipped>,
}

/// A cheap token per plugin file (and signature) of a source: an ETag, or size and
/// modification time. Two equal listings mean nothing changed; a poll compares them instead
/// of downloading every file.
pub type Versions = BTreeMap<String, String>;

/// A source as a whole cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The directory is missing or unreadable.
    #[error("cannot read plugin directory `{path}`: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other failure, described.
    #[error("{0}")]
    Other(String),
}

/// Where plugins come from.
pub trait PluginSource: Send + Sync {
    /// A short description for logs and reports, e.g. the directory path.
    fn describe(&self) -> String;

    /// Lists and reads every plugin file.
    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SourceError>>;

    /// The version of every file, to notice added, changed and removed plugins. The default
    /// reads every file and uses its sha256; sources with cheaper tokens override it.
    fn versions(&self) -> BoxFuture<'_, Result<Versions, SourceError>> {
        async move {
            let fetched = self.fetch().await?;
            let digest = |bytes: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
            let mut versions = Versions::new();
            for artifact in &fetched.artifacts {
                let signature = artifact
                    .signature
                    .as_deref()
                    .map(digest)
                    .unwrap_or_default();
                let token = format!("{}/{signature}", digest(&artifact.bytes));
                versions.insert(artifact.file.clone(), token);
            }
            for unreadable in &fetched.unreadable {
                versions.insert(unreadable.file.clone(), "unreadable".into());
            }
            Ok(versions)
        }
        .boxed()
    }
}
