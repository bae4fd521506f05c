//! A checked on-disk cache of compiled WebAssembly components.
//!
//! Compiling a component with Cranelift takes tens to hundreds of milliseconds; loading the
//! compiled artifact takes a fraction of that. [`PrecompiledCache`] keeps each artifact in a
//! directory, keyed by the sha256 of the component's bytes and by the engine's compatibility
//! fingerprint (wasmtime's version and every setting that changes generated code), so an
//! artifact is only ever loaded into an engine that could have produced it.
//!
//! Loading compiled code is trusting it: wasmtime runs it as machine code. An entry is
//! therefore loaded only after [`entry`] checks its header (format, fingerprint, source digest,
//! length) and the sha256 of its payload. A corrupt, truncated or mismatched entry is
//! deleted and reported, and the caller compiles afresh; it is never run.
//!
//! The checksum detects damage, not a forgery by someone who can write the directory, so the
//! cache is private to the host's user: directories are created 0700 and entries 0600, a
//! directory other users can write or another user owns is refused, and an entry other users
//! could have written is discarded.
//!
//! This crate holds plugmill's one `unsafe` call into wasmtime, [`Component::deserialize`],
//! made only on bytes that passed those checks.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use plugmill_precompiled::{Outcome, PrecompiledCache};
//! use wasmtime::{component::Component, Config, Engine};
//!
//! let engine = Engine::new(Config::new().wasm_component_model(true))?;
//! let dir = tempfile::tempdir()?;
//! let cache = PrecompiledCache::open(dir.path(), &engine)?;
//! let bytes = wat::parse_str("(component)")?;
//! let key = PrecompiledCache::key(&bytes);
//! let compile = || Component::new(&engine, &bytes).map_err(|e| e.to_string());
//!
//! let (_component, outcome) = cache.load_or_compile(&key, compile);
//! assert_eq!(outcome, Outcome::Compiled);
//! let (_component, outcome) = cache.load_or_compile(&key, compile);
//! assert_eq!(outcome, Outcome::Hit);
//! # Ok(()) }
//! ```

pub mod entry;
mod fingerprint;
mod private;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

pub use fingerprint::engine_fingerprint;

/// The cache cannot be used at all.
#[derive(Debug, thiserror::Error)]
#[error("precompiled cache `{}`: {message}: {error}", dir.display())]
pub struct CacheError {
    dir: PathBuf,
    message: &'static str,
    /// In the message; not repeated as a source.
    error: std::io::Error,
}

/// An entry could not be stored (the component itself is unaffected).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PutError {
    /// wasmtime could not serialize the component.
    #[error("cannot serialize: {0}")]
    Serialize(String),
    /// No random name could be made for the temporary file.
    #[error("no randomness: {0}")]
    Randomness(getrandom::Error),
    /// The entry could not be written or renamed into place.
    #[error("cannot write `{}`: {error}", path.display())]
    Write {
        /// The entry.
        path: PathBuf,
        /// In the message; not repeated as a source.
        error: std::io::Error,
    },
}

/// How a component was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded from a valid entry.
    Hit,
    /// No entry: compiled, and the entry written when possible.
    Compiled,
    /// An entry was unusable: it was deleted and the component compiled afresh.
    Rebuilt {
        /// What was wrong with the entry.
        reason: String,
    },
    /// Compiled, but the entry could not be stored; the next start compiles again.
    NotStored {
        /// Why (and what was wrong with the previous entry, if anything).
        reason: String,
    },
}

/// What a lookup found.
pub enum Lookup {
    /// A valid entry, loaded.
    Hit(Component),
    /// No entry.
    Miss,
    /// An unusable entry; the reason says what was wrong. An entry whose contents or
    /// permissions are at fault is deleted; one that merely failed to read is left alone.
    Discarded(String),
}

/// Compiled components in a directory, for one engine configuration.
#[derive(Clone)]
pub struct PrecompiledCache {
    dir: PathBuf,
    engine: Engine,
    fingerprint: [u8; 32],
    max_entry_size: u64,
}

/// The largest entry read by default: 1 GiB.
pub const DEFAULT_MAX_ENTRY_SIZE: u64 = 1 << 30;

impl std::fmt::Debug for PrecompiledCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrecompiledCache")
            .field("dir", &self.dir)
            .field("fingerprint", &hex::encode(self.fingerprint))
            .finish()
    }
}

impl PrecompiledCache {
    /// Opens (creating it if needed) the cache under `root` for `engine`. Entries live in
    /// `root/<fingerprint>/`, so engines of different versions or settings share a root
    /// without ever seeing each other's artifacts.
    pub fn open(root: impl AsRef<Path>, engine: &Engine) -> Result<Self, CacheError> {
        let fingerprint = engine_fingerprint(engine);
        let root = root.as_ref();
        let dir = root.join(hex::encode(&fingerprint[..16]));
        create_private_dir(&dir).map_err(|source| CacheError {
            dir: dir.clone(),
            message: "cannot create the directory",
            error: source,
        })?;
        for checked in [root, dir.as_path()] {
            private::check(checked).map_err(|source| CacheError {
                dir: checked.to_path_buf(),
                message: "refusing a directory other users can write (compiled code in it runs as the host)",
                error: source,
            })?;
        }
        Ok(Self {
            dir,
            engine: engine.clone(),
            fingerprint,
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
        })
    }

    /// Entries larger than `bytes` are discarded from their size alone, never read (default
    /// [`DEFAULT_MAX_ENTRY_SIZE`]).
    pub fn with_max_entry_size(mut self, bytes: u64) -> Self {
        self.max_entry_size = bytes;
        self
    }

    /// The directory holding this engine's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine's compatibility fingerprint.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Where the entry for a component with this sha256 lives.
    pub fn entry_path(&self, source_sha256: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{}.cwasm", hex::encode(source_sha256)))
    }

    /// Looks up the component whose bytes have this sha256. An unusable entry is deleted.
    pub fn get(&self, source_sha256: &[u8; 32]) -> Lookup {
        let path = self.entry_path(source_sha256);
        let bytes = match private::read(&path, self.max_entry_size) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            // Not deleted: the entry may be fine, and another process may be using it.
            Err(error) if error.kind() != std::io::ErrorKind::PermissionDenied => {
                return Lookup::Discarded(format!(
                    "cache entry `{}` cannot be read: {error}",
                    path.display()
                ))
            }
            Err(error) => return self.discard(&path, error.to_string()),
        };
        let payload = match entry::check(&bytes, &self.fingerprint, source_sha256) {
            Ok(payload) => payload,
            Err(problem) => return self.discard(&path, problem.to_string()),
        };
        // SAFETY: `payload` is exactly the bytes `Component::serialize` produced for an engine
        // with this fingerprint: `entry::check` verified the header and the payload's sha256
        // against the values written with it. wasmtime checks its own header again.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(&self.engine, payload) };
        match loaded {
            Ok(component) => {
                // Mark the entry used, for `prune`.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|file| file.set_modified(std::time::SystemTime::now()));
                Lookup::Hit(component)
            }
            Err(error) => self.discard(&path, format!("rejected by wasmtime: {error:#}")),
        }
    }

    /// Stores `component`, compiled from bytes with this sha256. The entry appears atomically
    /// (written aside, then renamed), so a concurrent reader sees all of it or nothing.
    pub fn put(&self, source_sha256: &[u8; 32], component: &Component) -> Result<(), PutError> {
        let payload = component
            .serialize()
            .map_err(|e| PutError::Serialize(format!("{e:#}")))?;
        let header = entry::Header {
            fingerprint: self.fingerprint,
            source_sha256: *source_sha256,
            payload_sha256: Sha256::digest(&payload).into(),
            payload_len: payload.len() as u64,
        };
        let path = self.entry_path(source_sha256);
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix).map_err(PutError::Randomness)?;
        let temporary = self.dir.join(format!(
            ".{}.{}.tmp",
            hex::encode(source_sha256),
            hex::encode(suffix)
        ));
        // The directory may have been pruned by another process since `open`.
        let _ = create_private_dir(&self.dir);
        let written = private::create(&temporary).and_then(|mut file| {
            file.write_all(&header.encode())?;
            file.write_all(&payload)
        });
        let renamed = written.and_then(|()| std::fs::rename(&temporary, &path));
        renamed.map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            PutError::Write { path, error }
        })
    }

    /// The key of a component: the sha256 of its bytes.
    pub fn key(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The component whose bytes have the sha256 `key` ([`PrecompiledCache::key`]): from a
    /// valid entry, else from `compile` (which must compile exactly those bytes), whose
    /// result is then stored. A failure to store is reported in the outcome, never fatal: the
    /// compiled component is returned either way.
    pub fn load_or_compile<E>(
        &self,
        key: &[u8; 32],
        compile: impl FnOnce() -> Result<Component, E>,
    ) -> (Result<Component, E>, Outcome) {
        let digest = *key;
        let outcome = match self.get(&digest) {
            Lookup::Hit(component) => return (Ok(component), Outcome::Hit),
            Lookup::Miss => Outcome::Compiled,
            Lookup::Discarded(reason) => Outcome::Rebuilt { reason },
        };
        let compiled = compile();
        if let Ok(component) = &compiled {
            if let Err(problem) = self.put(&digest, component) {
                return (compiled, with_write_problem(outcome, &problem.to_string()));
            }
        }
        (compiled, outcome)
    }

    /// Deletes what has not been used for `unused_for`: entries of this engine not loaded or
    /// written since, leftover temporary files, and the directories of other engines (older
    /// wasmtime versions, other settings) not written since. Returns how many were deleted.
    pub fn prune(&self, unused_for: std::time::Duration) -> usize {
        let Some(cutoff) = std::time::SystemTime::now().checked_sub(unused_for) else {
            return 0;
        };
        let stale = |path: &Path| {
            std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| modified < cutoff)
        };
        let mut deleted = 0;
        for path in cache_files(&self.dir) {
            if stale(&path) && std::fs::remove_file(&path).is_ok() {
                deleted += 1;
            }
        }
        // Only directories named like a fingerprint, and only the cache's own files in them:
        // a root shared with anything else loses nothing else.
        let Some(root) = self.dir.parent() else {
            return deleted;
        };
        for path in read_dir_paths(root) {
            let other_engine = path != self.dir && path.is_dir() && is_engine_dir_name(&path);
            // Reads touch entries, not their directory: unused means no entry used either.
            if other_engine && stale(&path) && cache_files(&path).iter().all(|f| stale(f)) {
                for file in cache_files(&path) {
                    let _ = std::fs::remove_file(file);
                }
                if std::fs::remove_dir(&path).is_ok() {
                    deleted += 1;
                }
            }
        }
        deleted
    }

    fn discard(&self, path: &Path, reason: String) -> Lookup {
        let _ = std::fs::remove_file(path);
        Lookup::Discarded(format!("cache entry `{}` {reason}", path.display()))
    }
}

/// Creates `dir` and its missing parents, readable and writable by the owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The paths in `dir`; none if it cannot be read.
fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// The entries and temporary files in `dir`.
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    read_dir_paths(dir)
        .into_iter()
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "cwasm" || extension == "tmp")
        })
        .collect()
}

/// Whether `dir` is named like an engine's directory: 32 lowercase hex digits.
fn is_engine_dir_name(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            name.len() == 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// An outcome that also notes the entry could not be written.
fn with_write_problem(outcome: Outcome, problem: &str) -> Outcome {
    let reason = match outcome {
        Outcome::Rebuilt { reason } => format!("{reason}; the new entry was not stored: {problem}"),
        _ => format!("the entry was not stored: {problem}"),
    };
    Outcome::NotStored { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Engine, Vec<u8>) {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let bytes = wat::parse_str(
            r#"(component (core module (func (export "f") (result i32) i32.const 7)))"#,
        )
        .unwrap();
        (tempfile::tempdir().unwrap(), engine, bytes)
    }

    fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
        Component::new(engine, bytes).map_err(|e| e.to_string())
    }

    /// A cache holding the test component's entry, and that entry's key.
    struct Filled {
        dir: tempfile::TempDir,
        bytes: Vec<u8>,
        cache: PrecompiledCache,
        key: [u8; 32],
    }

    fn filled() -> Filled {
        let (dir, engine, bytes) = setup();
        let cache = PrecompiledCache::open(dir.path(), &engine).unwrap();
        let key = PrecompiledCache::key(&bytes);
        let (_, outcome) = cache.load_or_compile(&key, || compile(&engine, &bytes));
        assert_eq!(outcome, Outcome::Compiled);
        Filled {
            dir,
            bytes,
            cache,
            key,
        }
    }

    #[test]
    fn a_fifo_or_an_oversized_file_in_place_of_an_entry_is_discarded_without_reading_it() {
        let filled = filled();
        let engine = filled.cache.engine.clone();
        let path = filled.cache.entry_path(&filled.key);
        let intact_len = std::fs::metadata(&path).unwrap().len();

        std::fs::remove_file(&path).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let (component, outcome) = filled
            .cache
            .load_or_compile(&filled.key, || compile(&engine, &filled.bytes));
        assert!(component.is_ok());
        match outcome {
            Outcome::Rebuilt { reason } => {
                assert!(reason.contains("not a regular file"), "{reason}")
            }
            other => panic!("expected a rebuild, got {other:?}"),
        }

        let small = filled.cache.clone().with_max_entry_size(intact_len - 1);
        let (component, outcome) =
            small.load_or_compile(&filled.key, || compile(&engine, &filled.bytes));
        assert!(component.is_ok());
        match outcome {
            Outcome::Rebuilt { reason } => assert!(reason.contains("more than the"), "{reason}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
    }

    #[test]
    fn a_damaged_entry_is_deleted_and_rebuilt_never_loaded() {
        let (dir, engine, bytes) = setup();
        let cache = PrecompiledCache::open(dir.path(), &engine).unwrap();
        let key = PrecompiledCache::key(&bytes);
        let (first, outcome) = cache.load_or_compile(&key, || compile(&engine, &bytes));
        assert!(first.is_ok());
        assert_eq!(outcome, Outcome::Compiled);
        let path = cache.entry_path(&key);
        let intact = std::fs::read(&path).unwrap();

        let mut flipped = intact.clone();
        let middle = entry::HEADER_LEN + (intact.len() - entry::HEADER_LEN) / 2;
        flipped[middle] ^= 0xff;
        let damages = [
            ("corrupt", flipped, "is corrupt"),
            (
                "truncated",
                intact[..intact.len() / 2].to_vec(),
                "truncated",
            ),
            ("empty", Vec::new(), "truncated"),
        ];
        for (what, damaged, expected) in damages {
            std::fs::write(&path, &damaged).unwrap();
            let mut compiled = false;
            let (component, outcome) = cache.load_or_compile(&key, || {
                compiled = true;
                compile(&engine, &bytes)
            });
            assert!(component.is_ok(), "{what}");
            assert!(compiled, "a {what} entry must not be loaded");
            match outcome {
                Outcome::Rebuilt { reason } => {
                    assert!(reason.contains(expected), "{what}: {reason}")
                }
                other => panic!("{what}: expected a rebuild, got {other:?}"),
            }
            assert_eq!(
                std::fs::read(&path).unwrap(),
                intact,
                "{what}: the entry is rewritten"
            );
        }
        let (_, outcome) = cache.load_or_compile(&key, || compile(&engine, &bytes));
        assert_eq!(outcome, Outcome::Hit);
    }

    #[test]
    fn engines_with_other_settings_never_share_entries() {
        let Filled {
            dir,
            bytes,
            cache,
            key,
            ..
        } = filled();

        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).consume_fuel(true);
        let metered = Engine::new(&config).unwrap();
        let other = PrecompiledCache::open(dir.path(), &metered).unwrap();
        assert_ne!(other.fingerprint(), cache.fingerprint());
        assert_ne!(other.dir(), cache.dir());
        let (_, outcome) = other.load_or_compile(&key, || compile(&metered, &bytes));
        assert_eq!(outcome, Outcome::Compiled);

        // An entry copied into the wrong engine's directory is refused by its header.
        std::fs::copy(cache.entry_path(&key), other.entry_path(&key)).unwrap();
        match other.get(&key) {
            Lookup::Discarded(reason) => {
                assert!(reason.contains("incompatible engine"), "{reason}")
            }
            _ => panic!("an entry of another engine was not discarded"),
        }
        assert!(!other.entry_path(&key).exists());
    }

    #[test]
    fn prune_deletes_what_was_not_used_for_a_while_and_keeps_what_was() {
        let Filled {
            dir, cache, key, ..
        } = filled();
        let old_key = [7u8; 32];
        std::fs::copy(cache.entry_path(&key), cache.entry_path(&old_key)).unwrap();
        let other_engine = dir.path().join("0123456789abcdef0123456789abcdef");
        std::fs::create_dir(&other_engine).unwrap();
        std::fs::write(other_engine.join("0.cwasm"), b"old").unwrap();
        let unrelated = dir.path().join("notes");
        std::fs::create_dir(&unrelated).unwrap();
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(90 * 86_400);
        let old_engine_entry = other_engine.join("0.cwasm");
        for path in [
            cache.entry_path(&key),
            cache.entry_path(&old_key),
            old_engine_entry,
        ] {
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(long_ago).unwrap();
        }
        for dir in [&other_engine, &unrelated] {
            std::fs::File::open(dir)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }

        // Loading an entry marks it used.
        assert!(matches!(cache.get(&key), Lookup::Hit(_)));
        let deleted = cache.prune(std::time::Duration::from_secs(30 * 86_400));

        assert_eq!(deleted, 2);
        assert!(cache.entry_path(&key).exists());
        assert!(!cache.entry_path(&old_key).exists());
        assert!(!other_engine.exists());
        assert!(
            unrelated.exists(),
            "a directory the cache did not make is left alone"
        );
        assert!(cache.dir().exists());
    }

    #[test]
    fn entries_are_private_and_one_other_users_could_write_is_discarded() {
        use std::os::unix::fs::PermissionsExt as _;
        let Filled {
            dir: _dir,
            cache,
            key,
            ..
        } = filled();
        let path = cache.entry_path(&key);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(cache.dir()), 0o700);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        match cache.get(&key) {
            Lookup::Discarded(reason) => {
                assert!(reason.contains("writable by other users"), "{reason}")
            }
            _ => panic!("an entry others could have written was loaded"),
        }
        assert!(!path.exists());
    }

    #[test]
    fn a_cache_directory_other_users_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let (dir, engine, _) = setup();
        let root = dir.path().join("shared");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = PrecompiledCache::open(&root, &engine)
            .unwrap_err()
            .to_string();
        assert!(error.contains("other users can write"), "{error}");
        assert!(error.contains("chmod go-w"), "{error}");
    }

    #[test]
    fn an_entry_under_another_key_is_refused() {
        let Filled {
            dir: _dir,
            cache,
            key,
            ..
        } = filled();
        let other_key = [9u8; 32];
        std::fs::copy(cache.entry_path(&key), cache.entry_path(&other_key)).unwrap();
        match cache.get(&other_key) {
            Lookup::Discarded(reason) => assert!(reason.contains("another component"), "{reason}"),
            _ => panic!("an entry under the wrong key was loaded"),
        }
    }

    #[test]
    fn an_unwritable_directory_still_compiles_and_says_why_nothing_was_stored() {
        let (dir, engine, bytes) = setup();
        let cache = PrecompiledCache::open(dir.path(), &engine).unwrap();
        // A file where the directory was: neither it nor an entry can be created.
        std::fs::remove_dir_all(cache.dir()).unwrap();
        std::fs::write(cache.dir(), b"in the way").unwrap();
        let key = PrecompiledCache::key(&bytes);
        let (component, outcome) = cache.load_or_compile(&key, || compile(&engine, &bytes));
        assert!(component.is_ok());
        match outcome {
            Outcome::NotStored { reason } => assert!(reason.contains("cannot write"), "{reason}"),
            other => panic!("expected NotStored, got {other:?}"),
        }
    }
}
