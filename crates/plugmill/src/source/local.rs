//! A directory of `*.wasm` files: the embedded default source, `./plugins`.

use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt as _;

use super::{Fetched, PluginArtifact, PluginSource, Skipped, SourceError, Versions};

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
        let directory_error = |source| SourceError::Directory {
            path: self.path.display().to_string(),
            source,
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

    async fn read(&self) -> Result<Fetched, SourceError> {
        let paths = self.entries().await?;
        let mut fetched = Fetched::default();
        for path in &paths {
            let file = path.display().to_string();
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
            let signature = tokio::fs::read(signature_path(path)).await.ok();
            match tokio::fs::read(&path).await {
                Ok(bytes) => fetched.artifacts.push(PluginArtifact {
                    file,
                    bytes,
                    signature,
                }),
                Err(error) => fetched.unreadable.push(Skipped {
                    file,
                    reason: format!("cannot be read: {error}"),
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
            versions.insert(path.display().to_string(), token);
        }
        Ok(versions)
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
        self.path.display().to_string()
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        self.read().boxed()
    }

    fn versions(&self) -> BoxFuture<'_, Result<Versions, SourceError>> {
        self.stat().boxed()
    }
}
