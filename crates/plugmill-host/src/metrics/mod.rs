//! Metrics: the process's one recorder ([`Metrics`], every front end renders it) and what the
//! host assembly itself counts: plugin calls (its [`CallMetrics`] observer), what a load
//! left registered and reloads. Each crate names and describes its own metrics in its own
//! `metrics` module and registers the descriptions here ([`describe`]): the server its HTTP
//! requests, connections and refused tokens, the task service its queue.
//!
//! - `plugmill_plugin_calls_total{plugin, function, outcome}` (`ok`, `plugin_error`, `trap`,
//!   `deadline`, `fuel`, `resource_limit`, `host`)
//! - `plugmill_plugin_call_duration_seconds{plugin, function}` (histogram)
//! - `plugmill_plugin_instances_total{plugin, source}` (`stock`, `instantiated`, `warm`: a
//!   stock's hit rate, for sizing it)
//! - `plugmill_plugin_fuel_used_total{plugin}` (when fuel is metered)
//! - `plugmill_plugins_loaded`, `plugmill_plugins_rejected` (gauges)
//! - `plugmill_reloads_total{outcome}` (`ok`, `failed`)

mod endpoint;
mod recorder;

pub use endpoint::serve_metrics;
pub use recorder::{describe, Metrics, MetricsError, DURATION_SUFFIX};

use plugmill::{CallObserver, FinishedCall, LoadReport};

/// Calls to plugins, by plugin, function and outcome.
pub const PLUGIN_CALLS: &str = "plugmill_plugin_calls_total";
/// How long calls to plugins took.
pub const PLUGIN_CALL_DURATION: &str = "plugmill_plugin_call_duration_seconds";
/// Instances calls ran on, by plugin and source.
pub const PLUGIN_INSTANCES: &str = "plugmill_plugin_instances_total";
/// Fuel used by plugin calls.
pub const PLUGIN_FUEL_USED: &str = "plugmill_plugin_fuel_used_total";
/// Plugins loaded.
pub const PLUGINS_LOADED: &str = "plugmill_plugins_loaded";
/// Plugin files rejected at the last load.
pub const PLUGINS_REJECTED: &str = "plugmill_plugins_rejected";
/// Reloads, by outcome.
pub const RELOADS: &str = "plugmill_reloads_total";

/// Describes the host's metrics (registered by [`Metrics::install`]).
pub(crate) fn describe_host() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        PLUGIN_CALLS,
        "Calls to plugins, by plugin, function and outcome"
    );
    describe_histogram!(
        PLUGIN_CALL_DURATION,
        Unit::Seconds,
        "How long calls to plugins took"
    );
    describe_counter!(
        PLUGIN_INSTANCES,
        "Instances calls ran on, by plugin and source: stock (never used, made in the background), instantiated (made on the call's path), warm (reused)"
    );
    describe_counter!(PLUGIN_FUEL_USED, "Fuel used by plugin calls");
    describe_gauge!(PLUGINS_LOADED, "Plugins loaded");
    describe_gauge!(PLUGINS_REJECTED, "Plugin files rejected at the last load");
    describe_counter!(RELOADS, "Reloads, by outcome");
}

/// Counts every plugin call: a front end installs it as the manager's [`CallObserver`]
/// (`HostOptions::observer`).
pub struct CallMetrics;

impl CallObserver for CallMetrics {
    fn call_finished(&self, call: &FinishedCall<'_>) {
        let (plugin, function) = (call.plugin.to_string(), call.function.to_string());
        metrics::counter!(
            PLUGIN_CALLS,
            "plugin" => plugin.clone(),
            "function" => function.clone(),
            "outcome" => call.outcome.as_str()
        )
        .increment(1);
        metrics::counter!(
            PLUGIN_INSTANCES,
            "plugin" => plugin.clone(),
            "source" => call.instance.as_str()
        )
        .increment(1);
        metrics::histogram!(
            PLUGIN_CALL_DURATION,
            "plugin" => plugin.clone(),
            "function" => function
        )
        .record(call.duration.as_secs_f64());
        if let Some(fuel) = call.fuel_used {
            metrics::counter!(PLUGIN_FUEL_USED, "plugin" => plugin).increment(fuel);
        }
    }
}

/// Records what a load or reload left registered.
pub fn record_load(report: &LoadReport) {
    metrics::gauge!(PLUGINS_LOADED).set(report.loaded.len() as f64);
    metrics::gauge!(PLUGINS_REJECTED).set(report.rejected.len() as f64);
}

/// Counts one reload.
pub fn record_reload(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!(RELOADS, "outcome" => outcome).increment(1);
}
