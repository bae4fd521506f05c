//! A directory of `*.wasm` files: the embedded default source, `./plugins`.

use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt as _;

use super::fetch::{
    FetchLimits, Fetched, PluginArtifact, PluginSource, Skipped, SourceError, Versions,
};
use crate::files::{read_regular, shown_path, FileError};

/// Every `*.wasm` file directly inside one directory.
#[derive(Clone, Debug)]
pub struct LocalDirectory {
    path: PathBuf,
}

impl LocalDirectory {
    /// The directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The paths of every entry of the directory, sorted.
    async fn entries(&self) -> Result<Vec<PathBuf>, SourceError> {
        let directory_error = |error| SourceError::Directory {
            path: shown_path(&self.path),
            error,
        };
        let mut entries = tokio::fs::read_dir(&self.path)
            .await
            .map_err(directory_error)?;
        let mut paths = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(directory_error)? {
            paths.push(entry.path());
        }
        paths.sort();
        Ok(paths)
    }

    async fn read(&self, limits: FetchLimits) -> Result<Fetched, SourceError> {
        let paths = self.entries().await?;
        let mut fetched = Fetched::default();
        for path in &paths {
            let file = shown_path(path);
            let extension = path.extension().and_then(|e| e.to_str());
            if extension != Some("wasm") {
                let signature_of_a_plugin =
                    extension == Some("sig") && paths.contains(&path.with_extension(""));
                if !path.is_dir() && !signature_of_a_plugin {
                    fetched.skipped.push(Skipped {
                        file,
                        reason: "not a `.wasm` file".into(),
                    });
                }
                continue;
            }
            let plugin = path.clone();
            let read = tokio::task::spawn_blocking(move || read_plugin_file(&plugin, limits)).await;
            match read {
                Ok(Ok(artifact)) => fetched.artifacts.push(artifact),
                Ok(Err(problem)) => {
                    let too_large = problem.is_too_large();
                    let skipped = Skipped {
                        file,
                        reason: problem.to_string(),
                    };
                    if too_large {
                        fetched.too_large.push(skipped);
                    } else {
                        fetched.unreadable.push(skipped);
                    }
                }
                Err(error) => fetched.unreadable.push(Skipped {
                    file,
                    reason: format!("reading it failed in the host: {error}"),
                }),
            }
        }
        Ok(fetched)
    }

    /// Size, modification and status-change times, inode and mode of every `.wasm` and
    /// `.sig` file: a copy, an edit, a rename over the file or a `chmod` changes at least one.
    async fn stat(&self) -> Result<Versions, SourceError> {
        use std::os::unix::fs::MetadataExt as _;
        let mut versions = Versions::new();
        for path in self.entries().await? {
            let extension = path.extension().and_then(|e| e.to_str());
            if !matches!(extension, Some("wasm" | "sig")) {
                continue;
            }
            let token = match tokio::fs::metadata(&path).await {
                Ok(meta) => format!(
                    "{}:{}.{}:{}.{}:{}:{:o}",
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.ctime(),
                    meta.ctime_nsec(),
                    meta.ino(),
                    meta.mode()
                ),
                Err(error) => format!("unreadable: {error}"),
            };
            versions.insert(shown_path(&path), token);
        }
        Ok(versions)
    }
}

/// Reads one plugin file and the signature beside it (`<file>.sig`, if there is one), as
/// [`LocalDirectory`] does: regular files only, opened without blocking, refused from their
/// size when over `limits`.
pub fn read_plugin_file(
    path: &std::path::Path,
    limits: FetchLimits,
) -> Result<PluginArtifact, PluginFileError> {
    let bytes = read_regular(path, limits.max_plugin_size)
        .map_err(|e| PluginFileError(ReadProblem::Plugin(e)))?;
    let signature = match read_regular(&signature_path(path), limits.max_signature_size) {
        Ok(signature) => Some(signature),
        Err(error) if error.is_not_found() => None,
        Err(error) => return Err(PluginFileError(ReadProblem::Signature(error))),
    };
    Ok(PluginArtifact {
        file: shown_path(path),
        bytes: bytes.into(),
        signature,
    })
}

/// Why a plugin file, or its signature, was not read.
#[derive(Debug)]
pub struct PluginFileError(ReadProblem);

#[derive(Debug)]
enum ReadProblem {
    Plugin(FileError),
    Signature(FileError),
}

impl PluginFileError {
    /// Whether the file or its signature is over the size limit.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self.0,
            ReadProblem::Plugin(FileError::TooLarge { .. })
                | ReadProblem::Signature(FileError::TooLarge { .. })
        )
    }
}

impl std::error::Error for PluginFileError {}

impl std::fmt::Display for PluginFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            ReadProblem::Plugin(error) => write!(f, "cannot be read: {error}"),
            ReadProblem::Signature(error) => {
                write!(f, "its signature file cannot be read: {error}")
            }
        }
    }
}

/// `x.wasm` -> `x.wasm.sig`.
pub fn signature_path(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

impl PluginSource for LocalDirectory {
    fn describe(&self) -> String {
        shown_path(&self.path)
    }

    fn fetch(&self, limits: FetchLimits) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        self.read(limits).boxed()
    }

    fn versions(&self) -> BoxFuture<'_, Result<Versions, SourceError>> {
        self.stat().boxed()
    }
}
