//! Reading files the host is given (plugins, signatures, keys, secrets) without being made to
//! wait or to run out of memory: only regular files are read, they are opened without blocking
//! (a FIFO would block an ordinary open until something writes to it), and their size is
//! checked before anything is read.

use std::fmt;
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum FileError {
    /// It does not exist.
    NotFound,
    /// It is not a regular file (a directory, a FIFO, a socket, a device).
    NotRegular(&'static str),
    /// It is larger than allowed.
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Reading it failed.
    Io(std::io::Error),
}

impl FileError {
    /// Whether the file does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, FileError::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotFound => f.write_str("it does not exist"),
            FileError::NotRegular(kind) => write!(f, "it is a {kind}, not a regular file"),
            FileError::TooLarge { size, max } => {
                write!(f, "it is {size} bytes, more than the {max} bytes allowed")
            }
            FileError::Io(error) => write!(f, "{error}"),
        }
    }
}

/// The bytes of the regular file at `path` (symbolic links followed), if it holds at most
/// `max` bytes.
pub(crate) fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => FileError::NotFound,
            _ => FileError::Io(error),
        })?;
    let meta = file.metadata().map_err(FileError::Io)?;
    let file_type = meta.file_type();
    if !file_type.is_file() {
        return Err(FileError::NotRegular(kind_of(&file_type)));
    }
    if meta.len() > max {
        return Err(FileError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow after the check: never read past the limit.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// A path as plugmill shows it (in reports, messages and logs): control characters escaped
/// (`\n`, `\u{7}`) and bytes that are not UTF-8 written `\xNN`, so a file name can neither
/// forge lines of output nor vanish into replacement characters.
pub(crate) fn shown_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut shown = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
        }
        for byte in chunk.invalid() {
            shown.push_str(&format!("\\x{byte:02X}"));
        }
    }
    shown
}

/// [`read_regular`] for text files.
pub(crate) fn read_regular_text(path: &Path, max: u64) -> Result<String, FileError> {
    let bytes = read_regular(path, max)?;
    String::from_utf8(bytes).map_err(|_| {
        FileError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text",
        ))
    })
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("plugin.wasm");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = read_regular(&fifo, 1 << 20).unwrap_err();
        assert!(
            error.to_string().contains("FIFO, not a regular file"),
            "{error}"
        );
        let error = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(error.to_string().contains("character device"), "{error}");
        let error = read_regular(dir.path(), 1 << 20).unwrap_err();
        assert!(error.to_string().contains("directory"), "{error}");
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert!(matches!(
            read_regular(&link, 10),
            Err(FileError::NotRegular("FIFO"))
        ));
    }

    #[test]
    fn paths_are_shown_with_control_characters_and_stray_bytes_escaped() {
        use std::os::unix::ffi::OsStrExt as _;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"plugins/a\nb\x07\xff.wasm"));
        assert_eq!(shown_path(path), "plugins/a\\nb\\u{7}\\xFF.wasm");
        assert_eq!(shown_path(Path::new("plugins/ok.wasm")), "plugins/ok.wasm");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_from_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.wasm");
        std::fs::write(&file, vec![0u8; 4096]).unwrap();
        let error = read_regular(&file, 4095).unwrap_err();
        assert!(matches!(
            error,
            FileError::TooLarge {
                size: 4096,
                max: 4095
            }
        ));
        assert_eq!(read_regular(&file, 4096).unwrap().len(), 4096);
        assert!(read_regular(&dir.path().join("missing"), 1)
            .unwrap_err()
            .is_not_found());
    }
}
