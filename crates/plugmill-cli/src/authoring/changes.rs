//! Saved changes to a plugin project's sources, for `plugmill dev`: file-system events
//! (inotify and its peers, through `notify`) outside the build's own output, gathered into one
//! signal per burst of saves.

use std::path::{Component, Path};
use std::time::Duration;

use anyhow::Context as _;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

/// Folders whose changes are the build's own or the tools': never a reason to rebuild.
const IGNORED: [&str; 6] = [
    "dist",
    "target",
    "node_modules",
    ".git",
    "__pycache__",
    ".plugmill",
];

/// How long a burst of saves (an editor writing a temporary file, then renaming it) may last.
const SETTLE: Duration = Duration::from_millis(150);

/// Saved changes under one directory.
pub struct Changes {
    events: mpsc::UnboundedReceiver<()>,
    _watcher: notify::RecommendedWatcher,
}

impl Changes {
    /// Starts watching `dir` and everything under it.
    pub fn watch(dir: &Path) -> anyhow::Result<Self> {
        let (sender, events) = mpsc::unbounded_channel();
        let root = dir.to_path_buf();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                let edits = matches!(
                    event.kind,
                    EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                );
                if edits && event.paths.iter().any(|path| is_source(&root, path)) {
                    let _ = sender.send(());
                }
            })
            .context("cannot watch the project for changes")?;
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch `{}` for changes", dir.display()))?;
        Ok(Self {
            events,
            _watcher: watcher,
        })
    }

    /// Waits for the next burst of changes and for it to settle.
    pub async fn next(&mut self) -> Option<()> {
        self.events.recv().await?;
        loop {
            match tokio::time::timeout(SETTLE, self.events.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) | Err(_) => return Some(()),
            }
        }
    }
}

/// Whether a change at `path` is to one of the project's sources.
fn is_source(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = relative.components().peekable();
    while let Some(Component::Normal(part)) = parts.next() {
        let part = part.to_string_lossy();
        let last = parts.peek().is_none();
        if IGNORED.contains(&part.as_ref())
            || (last && (part.starts_with('.') || part.ends_with('~')))
        {
            return false;
        }
    }
    !relative.as_os_str().is_empty()
}

#[cfg(test)]
mod tests {
    use super::is_source;
    use std::path::Path;

    #[test]
    fn only_sources_count_as_changes() {
        let root = Path::new("/p");
        for source in [
            "/p/src/lib.rs",
            "/p/app.js",
            "/p/wit/world.wit",
            "/p/Cargo.toml",
        ] {
            assert!(is_source(root, Path::new(source)), "{source}");
        }
        for other in [
            "/p/dist/p.wasm",
            "/p/target/x",
            "/p/node_modules/a/b.js",
            "/p/__pycache__/a.pyc",
            "/p/src/.lib.rs.swp",
            "/p/src/lib.rs~",
            "/elsewhere/a.rs",
            "/p",
        ] {
            assert!(!is_source(root, Path::new(other)), "{other}");
        }
    }

    #[tokio::test]
    async fn a_saved_source_is_one_change_and_build_output_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist")).unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut changes = super::Changes::watch(&root).unwrap();
        std::fs::write(root.join("dist/x.wasm"), b"built").unwrap();
        let quiet =
            tokio::time::timeout(std::time::Duration::from_millis(500), changes.next()).await;
        assert!(quiet.is_err(), "build output counted as a change");
        std::fs::write(root.join("app.js"), b"export {}").unwrap();
        std::fs::write(root.join("app.js"), b"export {};").unwrap();
        let change = tokio::time::timeout(std::time::Duration::from_secs(10), changes.next()).await;
        assert_eq!(change.unwrap(), Some(()));
        let more =
            tokio::time::timeout(std::time::Duration::from_millis(500), changes.next()).await;
        assert!(more.is_err(), "one burst of saves counted twice");
    }
}
