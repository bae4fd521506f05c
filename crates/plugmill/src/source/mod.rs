//! Plugin sources: where plugin bytes come from. A source lists its `*.wasm` files and reads
//! them; anything else it finds is reported as skipped, with the reason.
//!
//! [`PluginSource`] and what it fetches ([`Fetched`]) are in `fetch`; [`LocalDirectory`] is
//! the embedded default (`./plugins`); [`S3Source`] reads a bucket prefix of any
//! S3-compatible store.

mod fetch;
mod local;
#[cfg(feature = "s3")]
mod s3;

pub use fetch::{
    FetchLimits, Fetched, PluginArtifact, PluginSource, Skipped, SourceError, Versions,
    DEFAULT_MAX_PLUGIN_SIZE,
};
pub use local::{read_plugin_file, signature_path, LocalDirectory, PluginFileError};
#[cfg(feature = "s3")]
pub use s3::{S3Settings, S3Source, Uploaded};
