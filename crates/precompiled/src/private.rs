//! Files only the host's user can change: compiled code is loaded from the cache only if no
//! other user could have written it.

use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Permission bits that let the group or others write.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// The user this process runs as: the owner of `/proc/self`, where there is one.
fn current_user() -> Option<u32> {
    static USER: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *USER.get_or_init(|| std::fs::metadata("/proc/self").ok().map(|meta| meta.uid()))
}

fn refuse(path: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    let mode = meta.mode() & 0o7777;
    if mode & WRITABLE_BY_OTHERS != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "`{}` is writable by other users (mode {mode:o}); make it private: chmod go-w",
                path.display()
            ),
        ));
    }
    if let Some(user) = current_user().filter(|user| *user != meta.uid()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "`{}` belongs to user {}, not to this process's user {user}",
                path.display(),
                meta.uid()
            ),
        ));
    }
    Ok(())
}

/// Checks that only this process's user can write `path`.
pub fn check(path: &Path) -> std::io::Result<()> {
    refuse(path, &std::fs::metadata(path)?)
}

/// Reads a regular file of at most `max` bytes that only this process's user can write;
/// `PermissionDenied` otherwise. It is opened without blocking (a FIFO in its place would
/// block an ordinary open) and its size checked before anything is read.
pub fn read(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("`{}` is not a regular file", path.display()),
        ));
    }
    refuse(path, &meta)?;
    if meta.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "`{}` is {} bytes, more than the {max} bytes an entry may have",
                path.display(),
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Creates a new file readable and writable by its owner only.
pub fn create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}
