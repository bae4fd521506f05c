//! What a plugin source is ([`PluginSource`]) and what it fetches: plugin files
//! ([`PluginArtifact`]), what it skipped and why, and cheap [`Versions`] to poll.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::FutureExt as _;

/// The bytes of one plugin file.
#[derive(Clone, Debug)]
pub struct PluginArtifact {
    /// Where it came from: a path or an object key, as shown to users.
    pub file: String,
    /// The file's contents (shared, not copied, with a source that keeps them).
    pub bytes: bytes::Bytes,
    /// The detached signature beside it (`<file>.sig`), if there is one.
    pub signature: Option<Vec<u8>>,
}

/// How much a source may read of each file: a file over its limit is reported, not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// The largest plugin file (default 64 MiB).
    pub max_plugin_size: u64,
    /// The largest signature file (default 4 KiB; a signature is 88 bytes of base64).
    pub max_signature_size: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
            max_signature_size: 4 << 10,
        }
    }
}

/// The largest plugin file read by default: 64 MiB (components built from JavaScript or
/// Python, which carry their language's runtime, are 10 to 20 MiB).
pub const DEFAULT_MAX_PLUGIN_SIZE: u64 = 64 << 20;

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
    /// Plugin files that could not be read (a failed download, a permission error, not a
    /// regular file): they are rejected, so on a reload their previous version keeps serving.
    pub unreadable: Vec<Skipped>,
    /// Plugin files (or their signatures) over the size limit, refused from their size alone:
    /// rejected like unreadable ones.
    pub too_large: Vec<Skipped>,
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
    #[error("cannot read plugin directory `{path}`: {error}")]
    Directory {
        /// The directory.
        path: String,
        /// The I/O error (in the message; not repeated as a source).
        error: std::io::Error,
    },
    /// Any other failure, described.
    #[error("{0}")]
    Other(String),
}

impl SourceError {
    /// An error described by `message`, with credentials in it (a URL's password) redacted.
    pub fn other(message: impl Into<String>) -> Self {
        SourceError::Other(crate::redact_secrets(&message.into()))
    }
}

/// Where plugins come from.
pub trait PluginSource: Send + Sync {
    /// A short description for logs and reports, e.g. the directory path.
    fn describe(&self) -> String;

    /// Lists and reads every plugin file, never reading one over `limits` (nor holding one in
    /// memory to find out).
    fn fetch(&self, limits: FetchLimits) -> BoxFuture<'_, Result<Fetched, SourceError>>;

    /// The version of every file, to notice added, changed and removed plugins. The default
    /// reads every file and uses its sha256; sources with cheaper tokens override it.
    fn versions(&self) -> BoxFuture<'_, Result<Versions, SourceError>> {
        async move {
            let fetched = self.fetch(FetchLimits::default()).await?;
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
            for unreadable in fetched.unreadable.iter().chain(&fetched.too_large) {
                versions.insert(unreadable.file.clone(), "unreadable".into());
            }
            Ok(versions)
        }
        .boxed()
    }
}
