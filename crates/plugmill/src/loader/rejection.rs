//! Why a plugin file was not loaded ([`Rejection`], with a stable [`RejectionCode`] for
//! software to act on), and what loaded with a caveat ([`LoadWarning`]).

use std::fmt;

use serde::Serialize;

/// The kind of a rejection: stable, machine-readable, shown as kebab-case text
/// (`missing-import`). New codes may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RejectionCode {
    /// The source could not read the file (a failed download, a permission error, not a
    /// regular file).
    Unreadable,
    /// The file (or its signature) is larger than the configured maximum.
    TooLarge,
    /// The file's sha256 differs from its pin.
    PinMismatch,
    /// Signatures are required and the file has none.
    Unsigned,
    /// The signature is malformed or does not verify against a trusted key.
    BadSignature,
    /// The file is not WebAssembly.
    NotWasm,
    /// The file is a core WebAssembly module, not a component.
    NotAComponent,
    /// The component does not compile.
    InvalidComponent,
    /// The component does not export `plugins-manager:common/plugin-common`.
    NotAPlugin,
    /// The component imports interfaces no host interface provides.
    MissingImport,
    /// The component imports a host interface it is not granted.
    NotGranted,
    /// The component cannot be linked for another reason.
    LinkFailed,
    /// Instantiating the plugin or reading its manifest failed (a trap, say).
    ManifestFailed,
    /// Reading the manifest did not finish within its deadline.
    ManifestTimeout,
    /// The manifest breaks a rule (a bad name, a route outside the plugin's prefix, ...).
    InvalidManifest,
    /// A hook, route handler or task the manifest names is not exported.
    MissingExport,
    /// A hook, route handler or task has a signature plugmill cannot call.
    UnsupportedSignature,
    /// Another plugin already has this name.
    DuplicateName,
    /// Another plugin already serves one of its routes.
    RouteConflict,
    /// Loading failed in the host (a task of the loader failed).
    LoadFailed,
}

impl RejectionCode {
    /// The code as text, as JSON shows it: `missing-import`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::TooLarge => "too-large",
            Self::PinMismatch => "pin-mismatch",
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad-signature",
            Self::NotWasm => "not-wasm",
            Self::NotAComponent => "not-a-component",
            Self::InvalidComponent => "invalid-component",
            Self::NotAPlugin => "not-a-plugin",
            Self::MissingImport => "missing-import",
            Self::NotGranted => "not-granted",
            Self::LinkFailed => "link-failed",
            Self::ManifestFailed => "manifest-failed",
            Self::ManifestTimeout => "manifest-timeout",
            Self::InvalidManifest => "invalid-manifest",
            Self::MissingExport => "missing-export",
            Self::UnsupportedSignature => "unsupported-signature",
            Self::DuplicateName => "duplicate-name",
            Self::RouteConflict => "route-conflict",
            Self::LoadFailed => "load-failed",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin file that was not loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The file (path or object key).
    pub file: String,
    /// The plugin's name, when its manifest could be read.
    pub plugin: Option<String>,
    /// The kind of rejection, for software to act on.
    pub code: RejectionCode,
    /// Why it was rejected, for people.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(file: impl Into<String>, plugin: Option<String>, problem: Problem) -> Self {
        Self {
            file: file.into(),
            plugin,
            code: problem.code,
            reason: problem.message,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugin {
            Some(plugin) => write!(f, "{} (plugin `{plugin}`): {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// Something that loaded, with a caveat the operator should know about (a plugin importing
/// a capability it is granted nothing of, say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoadWarning {
    /// The plugin file.
    pub file: String,
    /// The plugin's name.
    pub plugin: String,
    /// What the operator should know.
    pub message: String,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (plugin `{}`): {}",
            self.file, self.plugin, self.message
        )
    }
}

/// One reason a step of the loader refuses a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) code: RejectionCode,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Several problems as one: the first one's code, every message.
    pub(crate) fn joined(mut problems: Vec<Problem>) -> Option<Problem> {
        problems.dedup();
        let code = problems.first()?.code;
        let messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        Some(Problem::new(code, messages.join("; ")))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
