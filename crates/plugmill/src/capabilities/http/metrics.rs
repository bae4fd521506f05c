//! What outbound HTTP reports, per plugin and host, through the `metrics` facade (the
//! server exports it): requests by outcome, and the time each exchange took.
//!
//! - `plugmill_http_requests_total{plugin, host, outcome}`: `ok`, `denied` (not in the
//!   allowlist), `address_refused` (resolves to a private address), `timeout`, `too_large`,
//!   `redirects` (over the limit) or `failed` (connection, TLS or protocol error);
//! - `plugmill_http_request_duration_seconds{plugin, host}`: from connecting to the answer's
//!   head.

use std::time::Duration;

/// The counter of requests.
pub const REQUESTS: &str = "plugmill_http_requests_total";
/// The histogram of exchange durations.
pub const DURATION: &str = "plugmill_http_request_duration_seconds";

/// Counts one request of `plugin` to `host` that ended with `outcome`.
pub(crate) fn request(plugin: &str, host: &str, outcome: &'static str) {
    ::metrics::counter!(
        REQUESTS,
        "plugin" => plugin.to_string(),
        "host" => host.to_string(),
        "outcome" => outcome,
    )
    .increment(1);
}

/// Records how long one exchange took.
pub(crate) fn duration(plugin: &str, host: &str, took: Duration) {
    ::metrics::histogram!(
        DURATION,
        "plugin" => plugin.to_string(),
        "host" => host.to_string(),
    )
    .record(took.as_secs_f64());
}
