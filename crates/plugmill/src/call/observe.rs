//! What a front end learns of every call, for metrics: the [`CallObserver`] it installs with
//! [`ManagerBuilder::observer`](crate::ManagerBuilder::observer) hears of each call to a
//! plugin's export when it ends, however it ends. Without an observer nothing is measured.

use std::time::Duration;

use super::error::CallError;

/// How a call to a plugin's export ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallOutcome {
    /// It returned (a `result`'s `ok`, or any value).
    Ok,
    /// It returned the `err` of its `result` (dynamic and JSON calls; a typed call's result
    /// is the caller's to read).
    PluginError,
    /// It trapped (a panic, `unreachable`, an out-of-bounds access, a stack overflow).
    Trap,
    /// It ran past its deadline.
    Deadline,
    /// It used up its fuel.
    Fuel,
    /// It grew memory, tables or instances past their limits.
    ResourceLimit,
    /// The host failed to run it.
    Host,
}

impl CallOutcome {
    /// As metrics label it: `ok`, `plugin_error`, `trap`, `deadline`, `fuel`,
    /// `resource_limit`, `host`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::PluginError => "plugin_error",
            CallOutcome::Trap => "trap",
            CallOutcome::Deadline => "deadline",
            CallOutcome::Fuel => "fuel",
            CallOutcome::ResourceLimit => "resource_limit",
            CallOutcome::Host => "host",
        }
    }

    pub(crate) fn of_error(error: &CallError) -> Self {
        match error {
            CallError::Plugin { .. } => CallOutcome::PluginError,
            CallError::Trap { .. } => CallOutcome::Trap,
            CallError::DeadlineExceeded { .. } => CallOutcome::Deadline,
            CallError::FuelExhausted { .. } => CallOutcome::Fuel,
            CallError::ResourceLimit { .. } => CallOutcome::ResourceLimit,
            _ => CallOutcome::Host,
        }
    }
}

/// Where the instance of a call came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceSource {
    /// A ready instance from the plugin's stock, made in the background.
    Stock,
    /// An instance made on the call's path: the plugin has no stock or its stock was empty,
    /// or no warm instance was idle.
    Instantiated,
    /// An idle warm instance, reused from an earlier call.
    Warm,
}

impl InstanceSource {
    /// As metrics label it: `stock`, `instantiated`, `warm`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceSource::Stock => "stock",
            InstanceSource::Instantiated => "instantiated",
            InstanceSource::Warm => "warm",
        }
    }
}

/// One finished call.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FinishedCall<'a> {
    /// The plugin.
    pub plugin: &'a str,
    /// The export called (hook, route handler or task).
    pub function: &'a str,
    /// How it ended.
    pub outcome: CallOutcome,
    /// From taking an instance to releasing it.
    pub duration: Duration,
    /// The fuel it used, when fuel is metered.
    pub fuel_used: Option<u64>,
    /// Where its instance came from: a stock's misses are its `Instantiated` calls.
    pub instance: InstanceSource,
}

/// Hears of every call when it ends.
pub trait CallObserver: Send + Sync + 'static {
    /// Called once per call, on the calling task; keep it quick.
    fn call_finished(&self, call: &FinishedCall<'_>);
}
