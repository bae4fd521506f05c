//! A directory of `*.wasm` files: the embedded default source, `./plugins`.

use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt as _;

use super::{Fetched, PluginArtifact, PluginSource, Skipped, SourceError};

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

    async fn read(&self) -> Result<Fetched, SourceError> {
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
        let mut fetched = Fetched::default();
        for path in paths {
            let file = path.display().to_string();
            if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                if !path.is_dir() {
                    fetched.skipped.push(Skipped {
                        file,
                        reason: "not a `.wasm` file".into(),
                    });
                }
                continue;
            }
            match tokio::fs::read(&path).await {
                Ok(bytes) => fetched.artifacts.push(PluginArtifact { file, bytes }),
                Err(error) => fetched.skipped.push(Skipped {
                    file,
                    reason: format!("cannot be read: {error}"),
                }),
            }
        }
        Ok(fetched)
    }
}

impl PluginSource for LocalDirectory {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn fetch(&self) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        self.read().boxed()
    }
}
