//! The process's one Prometheus recorder, which every front end renders (`plugmill serve`'s
//! `/metrics`, `plugmill worker --metrics-listen`). It knows no metric by name: each crate
//! names and describes its own in its `metrics` module and registers the descriptions
//! ([`describe`]); every histogram whose name ends in `_duration_seconds` gets the duration
//! buckets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the duration histograms, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// The suffix of the histograms that get [`DURATION_BUCKETS`].
pub const DURATION_SUFFIX: &str = "_duration_seconds";

/// The recorder could not be installed (another one is).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

/// The process's Prometheus recorder.
pub struct Metrics {
    handle: PrometheusHandle,
}

/// The descriptions registered so far, by the name of the crate that registered them.
static FAMILIES: Mutex<BTreeMap<&'static str, fn()>> = Mutex::new(BTreeMap::new());

static INSTALLED: OnceLock<Result<Arc<Metrics>, MetricsError>> = OnceLock::new();

impl Metrics {
    /// The recorder, installed on first use; the descriptions registered so far are applied.
    pub fn install() -> Result<Arc<Metrics>, MetricsError> {
        families()
            .entry("host")
            .or_insert(super::describe_host as fn());
        INSTALLED
            .get_or_init(|| {
                let handle = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Suffix(DURATION_SUFFIX.into()),
                        DURATION_BUCKETS,
                    )
                    .and_then(|builder| builder.install_recorder())
                    .map_err(|e| MetricsError(e.to_string()))?;
                Ok(Arc::new(Metrics { handle }))
            })
            .clone()
            .inspect(|_| {
                for describe in families().values() {
                    describe();
                }
            })
    }

    /// Every metric, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Registers the descriptions of `family`'s metrics (its `describe_*!` calls): applied now
/// if the recorder is installed, else when it is.
pub fn describe(family: &'static str, describe: fn()) {
    let new = families().insert(family, describe).is_none();
    if new && INSTALLED.get().is_some_and(Result::is_ok) {
        describe();
    }
}

fn families() -> std::sync::MutexGuard<'static, BTreeMap<&'static str, fn()>> {
    FAMILIES.lock().unwrap_or_else(|p| p.into_inner())
}
