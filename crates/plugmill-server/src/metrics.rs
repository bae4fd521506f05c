//! Prometheus metrics (`GET /metrics`), through the `metrics` facade and its Prometheus
//! exporter:
//!
//! - `plugmill_http_requests_total{route, status}`
//! - `plugmill_http_connections_open` (gauge)
//! - `plugmill_auth_refused_total{reason}`: refused tokens, by why (`missing`, `malformed`,
//!   `expired`, `not_yet_valid`, `signature`, `algorithm`, `issuer`, `audience`,
//!   `unknown_key`, `claims`, `admin_token`, `metrics_token`)
//! - `plugmill_plugin_calls_total{plugin, function, outcome}` (`ok`, `plugin_error`, `trap`,
//!   `deadline`, `fuel`, `resource_limit`, `host`)
//! - `plugmill_plugin_call_duration_seconds{plugin, function}` (histogram)
//! - `plugmill_plugin_instances_total{plugin, source}` (`stock`, `instantiated`, `warm`: a
//!   stock's hit rate, for sizing it)
//! - `plugmill_plugin_fuel_used_total{plugin}` (when fuel is metered)
//! - `plugmill_plugins_loaded`, `plugmill_plugins_rejected` (gauges)
//! - `plugmill_reloads_total{outcome}` (`ok`, `failed`)
//! - the task queue's: `plugmill_tasks_queued_total`, `plugmill_tasks_running`,
//!   `plugmill_tasks_succeeded_total`, `plugmill_tasks_failed_total`,
//!   `plugmill_tasks_retried_total`, `plugmill_tasks_dead_lettered_total`,
//!   `plugmill_task_duration_seconds`
//!
//! The recorder is global to the process: installed once, shared by every server in it.

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use plugmill::{CallObserver, FinishedCall, LoadReport};

/// Buckets of the call duration histogram, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// The process's Prometheus recorder.
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// The recorder, installed on first use.
    pub fn get() -> anyhow::Result<Arc<Metrics>> {
        static METRICS: OnceLock<Result<Arc<Metrics>, String>> = OnceLock::new();
        METRICS
            .get_or_init(|| {
                let handle = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full("plugmill_plugin_call_duration_seconds".into()),
                        DURATION_BUCKETS,
                    )
                    .and_then(|builder| {
                        builder.set_buckets_for_metric(
                            Matcher::Full(plugmill_tasks::DURATION_METRIC.into()),
                            DURATION_BUCKETS,
                        )
                    })
                    .and_then(|builder| builder.install_recorder())
                    .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
                describe();
                Ok(Arc::new(Metrics { handle }))
            })
            .clone()
            .map_err(anyhow::Error::msg)
    }

    /// Every metric, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "plugmill_http_requests_total",
        "HTTP requests, by route and status"
    );
    describe_counter!(
        "plugmill_plugin_calls_total",
        "Calls to plugins, by plugin, function and outcome"
    );
    describe_histogram!(
        "plugmill_plugin_call_duration_seconds",
        Unit::Seconds,
        "How long calls to plugins took"
    );
    describe_counter!(
        "plugmill_plugin_instances_total",
        "Instances calls ran on, by plugin and source: stock (never used, made in the background), instantiated (made on the call's path), warm (reused)"
    );
    describe_counter!(
        "plugmill_plugin_fuel_used_total",
        "Fuel used by plugin calls"
    );
    describe_gauge!("plugmill_plugins_loaded", "Plugins loaded");
    describe_gauge!(
        "plugmill_plugins_rejected",
        "Plugin files rejected at the last load"
    );
    describe_counter!("plugmill_reloads_total", "Reloads, by outcome");
    describe_gauge!("plugmill_http_connections_open", "HTTP connections open");
    describe_counter!(
        "plugmill_auth_refused_total",
        "Requests refused for their token, by reason"
    );
}

/// Counts every plugin call (installed as the manager's [`CallObserver`]).
pub struct CallMetrics;

impl CallObserver for CallMetrics {
    fn call_finished(&self, call: &FinishedCall<'_>) {
        let (plugin, function) = (call.plugin.to_string(), call.function.to_string());
        metrics::counter!(
            "plugmill_plugin_calls_total",
            "plugin" => plugin.clone(),
            "function" => function.clone(),
            "outcome" => call.outcome.as_str()
        )
        .increment(1);
        metrics::counter!(
            "plugmill_plugin_instances_total",
            "plugin" => plugin.clone(),
            "source" => call.instance.as_str()
        )
        .increment(1);
        metrics::histogram!(
            "plugmill_plugin_call_duration_seconds",
            "plugin" => plugin.clone(),
            "function" => function
        )
        .record(call.duration.as_secs_f64());
        if let Some(fuel) = call.fuel_used {
            metrics::counter!("plugmill_plugin_fuel_used_total", "plugin" => plugin)
                .increment(fuel);
        }
    }
}

/// Serves `GET /metrics` and `GET /healthz` on `listener` (for a process without the HTTP
/// server: a task worker).
pub async fn serve_metrics(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    use axum::routing::get;
    let metrics = Metrics::get()?;
    let router = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.render() }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    axum::serve(listener, router).await?;
    Ok(())
}

/// Counts one HTTP request.
pub fn record_request(route: String, status: u16) {
    metrics::counter!(
        "plugmill_http_requests_total",
        "route" => route,
        "status" => status.to_string()
    )
    .increment(1);
}

/// Counts one refused token (`reason`: a fixed label).
pub fn record_refused(reason: &'static str) {
    metrics::counter!("plugmill_auth_refused_total", "reason" => reason).increment(1);
}

/// Counts a connection opened (`true`) or closed.
pub fn record_connection(opened: bool) {
    let gauge = metrics::gauge!("plugmill_http_connections_open");
    if opened {
        gauge.increment(1.0);
    } else {
        gauge.decrement(1.0);
    }
}

/// Records what a load or reload left registered.
pub fn record_load(report: &LoadReport) {
    metrics::gauge!("plugmill_plugins_loaded").set(report.loaded.len() as f64);
    metrics::gauge!("plugmill_plugins_rejected").set(report.rejected.len() as f64);
}

/// Counts one reload.
pub fn record_reload(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!("plugmill_reloads_total", "outcome" => outcome).increment(1);
}
