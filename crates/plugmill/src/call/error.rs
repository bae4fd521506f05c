//! [`CallError`]: why a call did not return a value. What a plugin said (its `Err` string) is
//! kept apart from host failures (traps, deadlines, limits) and from caller mistakes (unknown
//! route, bad arguments).

use std::time::Duration;

use wasmtime::{Trap, WasmBacktrace};

use crate::host::{DeadlineExceeded, MemoryLimitExceeded};

/// Frames of a wasm backtrace kept in a trap report.
const BACKTRACE_FRAMES: usize = 8;

/// Why a call to a plugin did not return a value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No plugin serves this route.
    #[error("no plugin serves route `{0}`")]
    RouteNotFound(String),
    /// No plugin registered this task.
    #[error("no plugin registered task `{0}`")]
    TaskNotFound(String),
    /// The plugin does not export a function of that name in its manifest.
    #[error("plugin `{plugin}` has no hook, route handler or task `{function}`")]
    NoSuchFunction {
        /// The plugin.
        plugin: String,
        /// The function asked for.
        function: String,
    },
    /// The arguments do not match the export's signature.
    #[error("bad arguments for `{function}` of plugin `{plugin}` (`{signature}`): {reason}")]
    BadArguments {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// Its signature.
        signature: String,
        /// What does not match.
        reason: String,
    },
    /// The plugin ran and returned an error (its `Err` string).
    #[error("plugin `{plugin}` returned an error from `{function}`: {message}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The plugin's error string.
        message: String,
    },
    /// The plugin trapped (panic, `unreachable`, out-of-bounds access, stack overflow, ...).
    #[error("plugin `{plugin}` trapped in `{function}`: {message}{}", backtrace_suffix(.backtrace))]
    Trap {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The trap, plus what the plugin last wrote to stderr (a panic message, say).
        message: String,
        /// The innermost frames, innermost first.
        backtrace: Vec<String>,
    },
    /// The call ran past its deadline and was stopped.
    #[error("plugin `{plugin}` exceeded its deadline of {limit:?} in `{function}`")]
    DeadlineExceeded {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The deadline.
        limit: Duration,
    },
    /// The call used up its instruction budget (fuel metering).
    #[error("plugin `{plugin}` used up its fuel budget of {budget} in `{function}`")]
    FuelExhausted {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The budget.
        budget: u64,
    },
    /// The call grew memory, tables or instances past its limit.
    #[error("plugin `{plugin}` exceeded a resource limit in `{function}`: {message}")]
    ResourceLimit {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// Which limit.
        message: String,
    },
    /// The host failed to run the call (instantiation, a host function's failure, ...).
    #[error("host failure calling `{function}` of plugin `{plugin}`: {message}")]
    Host {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// What failed.
        message: String,
    },
    /// The caller's input is unusable (data that is not JSON, say).
    #[error("bad input: {0}")]
    BadInput(String),
}

impl CallError {
    /// Whether the plugin itself returned this error (as opposed to the host or the caller).
    pub fn is_plugin_error(&self) -> bool {
        matches!(self, CallError::Plugin { .. })
    }

    /// Whether the host stopped or failed the call (trap, deadline, limit, host failure).
    pub fn is_host_failure(&self) -> bool {
        matches!(
            self,
            CallError::Trap { .. }
                | CallError::DeadlineExceeded { .. }
                | CallError::ResourceLimit { .. }
                | CallError::Host { .. }
        )
    }

    /// What kind of failure this is, as stable kebab-case text for software to act on:
    /// `not-found`, `bad-arguments`, `bad-input`, `plugin-error`, `trap`, `deadline`,
    /// `fuel`, `resource-limit`, `host`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::RouteNotFound(_)
            | CallError::TaskNotFound(_)
            | CallError::NoSuchFunction { .. } => "not-found",
            CallError::BadArguments { .. } => "bad-arguments",
            CallError::BadInput(_) => "bad-input",
            CallError::Plugin { .. } => "plugin-error",
            CallError::Trap { .. } => "trap",
            CallError::DeadlineExceeded { .. } => "deadline",
            CallError::FuelExhausted { .. } => "fuel",
            CallError::ResourceLimit { .. } => "resource-limit",
            CallError::Host { .. } => "host",
        }
    }

    /// Whether the caller asked for something that does not exist or passed bad input.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            CallError::RouteNotFound(_)
                | CallError::TaskNotFound(_)
                | CallError::NoSuchFunction { .. }
                | CallError::BadArguments { .. }
                | CallError::BadInput(_)
        )
    }
}

fn backtrace_suffix(frames: &[String]) -> String {
    if frames.is_empty() {
        String::new()
    } else {
        format!(" (backtrace: {})", frames.join(" <- "))
    }
}

/// Turns a wasmtime failure of one call into a [`CallError`].
pub(crate) fn classify(
    error: wasmtime::Error,
    plugin: &str,
    function: &str,
    limit: Duration,
    stderr: &str,
) -> CallError {
    let (plugin, function) = (plugin.to_string(), function.to_string());
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return CallError::DeadlineExceeded {
            plugin,
            function,
            limit,
        };
    }
    if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
        return CallError::ResourceLimit {
            plugin,
            function,
            message: limit.0.clone(),
        };
    }
    let backtrace = short_backtrace(&error);
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let mut message = trap.to_string();
        let said = stderr.trim();
        if !said.is_empty() {
            let tail: String = said
                .chars()
                .rev()
                .take(512)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            message = format!("{message}; the plugin wrote to stderr: {tail}");
        }
        return CallError::Trap {
            plugin,
            function,
            message,
            backtrace,
        };
    }
    let message = match backtrace.is_empty() {
        true => error.root_cause().to_string(),
        false => format!("{}{}", error.root_cause(), backtrace_suffix(&backtrace)),
    };
    CallError::Host {
        plugin,
        function,
        message,
    }
}

/// The innermost frames of the plugin's own code: names demangled, and the frames of the
/// language runtime's panic and abort machinery left out (all frames if nothing else is left).
fn short_backtrace(error: &wasmtime::Error) -> Vec<String> {
    let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() else {
        return Vec::new();
    };
    let names: Vec<String> = backtrace
        .frames()
        .iter()
        .map(|frame| match frame.func_name() {
            Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
            None => "<unnamed>".to_string(),
        })
        .collect();
    let own: Vec<String> = names
        .iter()
        .filter(|name| !is_runtime_frame(name))
        .cloned()
        .collect();
    let frames = if own.is_empty() { names } else { own };
    frames.into_iter().take(BACKTRACE_FRAMES).collect()
}

fn is_runtime_frame(name: &str) -> bool {
    [
        "std::",
        "core::",
        "alloc::",
        "__rustc::",
        "__rust_",
        "rust_panic",
        "abort",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}
